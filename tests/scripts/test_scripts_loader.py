"""Loading scripts: hardened XML, schema, expressions and references checked with file and line."""
import re

import pytest
from lxml import etree

from caruso_scripts import loader
from caruso_scripts.errors import ScriptError
from caruso_scripts.model import End, Question, SubScript

MINIMAL = """<question id="q" type="yesno"><prompt>Ok?</prompt><go to="done" if="q"/><go to="done"/></question>
<end id="done" outcome="ok"/>"""


def problems_of(path):
    return loader.problems(path)


def test_minimal_script_loads(script_file):
    script = loader.load(script_file(MINIMAL))
    assert script.start == "q"
    assert isinstance(script.step("q"), Question) and isinstance(script.step("done"), End)
    assert script.step("q").transitions[0].condition.source == "q"


def test_malformed_xml_names_the_line(script_file):
    path = script_file('<?xml version="1.0"?>\n<script id="t" version="1">\n<end id="a" outcome="x">\n</script>\n',
                       whole=True)
    with pytest.raises(ScriptError) as caught:
        loader.load(path)
    assert caught.value.message.startswith(f"{path}:4: malformed XML")


@pytest.mark.parametrize("use", ['<end id="e" outcome="x"><text>&l9;</text></end>', '<end id="e" outcome="&l9;"/>'])
def test_billion_laughs_is_refused_quickly(script_file, use):
    entities = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">\n' for n in range(1, 10))
    path = script_file(f'<?xml version="1.0"?>\n<!DOCTYPE script [\n<!ENTITY l0 "lol">\n{entities}]>\n'
                       f'<script id="t" version="1">{use}</script>', whole=True)
    with pytest.raises(ScriptError) as caught:
        loader.load(path)
    assert re.match(re.escape(str(path)) + r":\d+: (entity declarations are not allowed|malformed XML: "
                    r"Maximum entity amplification)", caught.value.message)


def test_external_entity_is_refused(script_file, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    path = script_file(f'<?xml version="1.0"?>\n<!DOCTYPE script [<!ENTITY x SYSTEM "file://{secret}">]>\n'
                       '<script id="t" version="1"><end id="e" outcome="ok"><text>&x;</text></end></script>',
                       whole=True)
    with pytest.raises(ScriptError) as caught:
        loader.load(path)
    assert "entity declarations are not allowed" in caught.value.message
    assert "TOP SECRET" not in caught.value.message


def test_doctype_naming_the_dtd_is_allowed(script_file):
    path = script_file('<?xml version="1.0"?>\n<!DOCTYPE script SYSTEM "script.dtd">\n'
                       f'<script id="t" version="1">{MINIMAL}</script>', whole=True)
    assert loader.load(path).id == "t"


def test_too_large_file_is_refused(script_file):
    path = script_file(MINIMAL + "<!--" + "x" * 1_100_000 + "-->")
    with pytest.raises(ScriptError, match="larger than"):
        loader.load(path)


@pytest.mark.parametrize("body, line, message", [
    ('<question id="q" type="colour"><prompt>?</prompt><go to="q"/></question>', 3, "not a valid script"),
    ('<end id="e"/>', 3, "not a valid script"),
    ('<end id="bad-id" outcome="x"/>', 3, "not a valid script"),
    ('<info id="i"><text>hi</text><go to="nowhere"/></info>\n<end id="e" outcome="x"/>', 3,
     "goes to 'nowhere', which is not a step"),
    ('<info id="i"><text>hi</text><go to="e" if="x.__class__"/><go to="e"/></info><end id="e" outcome="x"/>', 3,
     "unknown name 'x'"),
    ('<var name="x"/><info id="i"><text>hi</text><go to="e" if="x.__class__"/><go to="e"/></info>'
     '<end id="e" outcome="x"/>', 3, "private attribute '__class__'"),
    ('<info id="i"><text>{__import__("os")}</text><go to="e"/></info><end id="e" outcome="x"/>', 3,
     "'__import__' is not a function"),
    ('<var name="x" value="2 ** 99999"/><end id="e" outcome="x"/>', 3, "'**' (power) is not part"),
    ('<info id="i"><text>hi</text><go to="e"><set var="nope" value="1"/></go></info><end id="e" outcome="x"/>', 3,
     "'nope' is not a variable"),
    ('<info id="i"><text>a {b</text><go to="e"/></info><end id="e" outcome="x"/>', 3, "'{' without a closing"),
    ('<end id="e" outcome="x"/><end id="e" outcome="y"/>', 3, "'e' is defined twice"),
    ('<question id="q" type="choice"><prompt>?</prompt><go to="e"/></question><end id="e" outcome="x"/>', 3,
     "has no <option>"),
    ('<question id="q" type="text" min="1"><prompt>?</prompt><go to="e"/></question><end id="e" outcome="x"/>', 3,
     "min/max apply to number"),
    ('<subscript id="s" src="missing.xml"><go to="e"/></subscript><end id="e" outcome="x"/>', 3,
     "sub-script file 'missing.xml' does not exist"),
    ('<end id="e" outcome="x"><text>' + "Terms. " * 1500 + '</text></end>', 3,
     "<text> text is longer than 10000 characters"),
])
def test_invalid_scripts_name_file_and_line(script_file, body, line, message):
    path = script_file(body)
    found = problems_of(path)
    assert any(p.startswith(f"{path}:{line}: ") and message in p for p in found), found
    with pytest.raises(ScriptError):
        loader.load(path)


def test_every_problem_is_reported(script_file):
    path = script_file('<var name="v" value="nope1"/>\n<info id="i"><text>{nope2}</text><go to="gone"/></info>\n'
                       '<end id="e" outcome="x"/>')
    found = problems_of(path)
    assert len(found) == 3
    with pytest.raises(ScriptError, match=r"and 2 more problem"):
        loader.load(path)


def test_unknown_actions_are_reported_when_actions_are_known(script_file):
    path = script_file('<info id="i"><text>x</text><go to="e"><action name="fax"/></go></info>'
                       '<end id="e" outcome="x"/>')
    assert loader.problems(path) == []
    assert "unknown action 'fax' (installed actions: email)" in loader.problems(path, {"email"})[0]


def test_sub_scripts_load_and_cycles_are_refused(script_file):
    script_file(f'<?xml version="1.0"?><script id="inner" version="1">{MINIMAL}</script>', "inner.xml", whole=True)
    outer = script_file('<subscript id="sub" src="inner.xml"><go to="e" if="sub == \'ok\'"/><go to="e"/></subscript>'
                        '<end id="e" outcome="x"/>', "outer.xml")
    script = loader.load(outer)
    assert isinstance(script.step("sub"), SubScript) and script.step("sub").script.id == "inner"
    script_file('<?xml version="1.0"?><script id="a" version="1"><subscript id="s" src="b.xml"><go to="e"/>'
                '</subscript><end id="e" outcome="x"/></script>', "a.xml", whole=True)
    b = script_file('<?xml version="1.0"?><script id="b" version="1"><subscript id="s" src="a.xml"><go to="e"/>'
                    '</subscript><end id="e" outcome="x"/></script>', "b.xml", whole=True)
    assert any("in a circle: b.xml -> a.xml -> b.xml" in p for p in problems_of(b))


def test_examples_are_valid_against_the_published_dtd(examples):
    dtd_path = loader.SCHEMA.parent / "script.dtd"
    dtd = etree.DTD(str(dtd_path))
    for path in examples.glob("*.xml"):
        assert dtd.validate(etree.parse(str(path))), (path, dtd.error_log)


def test_an_attribute_the_schema_refuses_is_one_problem_showing_the_attributes(script_file):
    """RelaxNG says only "Element question failed to validate attributes" for some documents,
    and adds it to the violation that names the attribute for others."""
    path = script_file('<question id="q" type="numbr"><prompt>?</prompt><go to="e"/></question>'
                       '<end id="e" outcome="x"/>')
    assert problems_of(path) == [f'{path}:3: not a valid script: <question id="q" type="numbr">: an attribute is '
                                 "unknown, its value is not one the format allows, or one it requires is missing "
                                 "(see docs/script-format.md)"]
    path = script_file('<question id="ok" type="text"><prompt>?</prompt><go to="q"/></question>'
                       '<question id="q" type="numbr"><prompt>?</prompt><go to="e"/></question><end id="e" outcome="x"/>')
    assert problems_of(path) == [f"{path}:3: not a valid script: Element question failed to validate attributes "
                                 "(see docs/script-format.md)"]          # two on that line: which one is not known
    path = script_file('<info id="i" colour="red"><text>hi</text><go to="e"/></info><end id="e" outcome="x"/>')
    assert problems_of(path) == [f"{path}:3: not a valid script: Invalid attribute colour for element info "
                                 "(see docs/script-format.md)"]
