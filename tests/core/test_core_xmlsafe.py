"""Hardened XML reading: what every XML file of caruso goes through."""
import time

import pytest

from caruso_core import ConfigError
from caruso_core.xmlsafe import parse, read, validate

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<model>&lol9;</model>"""

# ten levels in an attribute: libxml2 refuses the expansion itself, before caruso looks at the DTD
AMPLIFIED = b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY l0 "lol">\n' + b"".join(
    b'<!ENTITY l%d "%s">\n' % (level, b"&l%d;" % (level - 1) * 10) for level in range(1, 10)) + b']>\n<model name="&l9;"/>'

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE model [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<model>&secret;</model>"""

SCHEMA = """<element name="model" xmlns="http://relaxng.org/ns/structure/1.0">
  <zeroOrMore><element name="object"><attribute name="name"/></element></zeroOrMore>
</element>"""


def test_plain_document_parses_and_keeps_lines():
    root = parse(b"<model>\n  <object name='a'/>\n</model>", "m.xml")
    assert root[0].sourceline == 2


@pytest.mark.parametrize("data, line, what", [
    (LAUGHS, 3, "entity declarations are not allowed"),
    (XXE, 2, "entity declarations are not allowed"),
    (b"<model>\n<object>\n</model>", 3, "malformed XML"),
    (AMPLIFIED, 3, "entity declarations are not allowed"),        # stopped by the parser's own guard first
    (b"<model>" + b"<a>" * 300 + b"</a>" * 300 + b"</model>", 1, "malformed XML: elements nested deeper than 256 levels"),
    (b"<model>\n<!-- no <!ENTITY here -->\n<object>\n</model>", 4, "malformed XML: Opening and ending tag"),
])
def test_hostile_and_broken_documents_are_refused_with_file_and_line(data, line, what):
    started = time.monotonic()
    with pytest.raises(ConfigError, match=rf"^m.xml:{line}: {what}"):
        parse(data, "m.xml")
    assert time.monotonic() - started < 5       # refused, not expanded


def test_size_limit_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="larger than 10 bytes"):
        parse(b"<model>" + b" " * 20 + b"</model>", "m.xml", max_bytes=10)
    with pytest.raises(ConfigError, match="cannot read"):
        read(tmp_path / "missing.xml")


def test_doctype_naming_a_dtd_is_ignored_not_loaded(tmp_path):
    root = parse(b'<!DOCTYPE model SYSTEM "http://example.invalid/model.dtd">\n<model/>', "m.xml")
    assert root.tag == "model"


def test_relaxng_errors_name_the_line(tmp_path):
    schema = tmp_path / "model.rng"
    schema.write_text(SCHEMA)
    validate(parse(b"<model><object name='a'/></model>", "ok.xml"), schema, "ok.xml")
    with pytest.raises(ConfigError, match=r"^bad.xml:3: .*colour"):
        validate(parse(b"<model>\n<object name='a'/>\n<object name='b' colour='red'/>\n</model>", "bad.xml"),
                 schema, "bad.xml")


def test_relaxng_names_the_innermost_problem_not_the_enclosing_element(tmp_path):
    schema = tmp_path / "nested.rng"
    schema.write_text("""<element name="model" xmlns="http://relaxng.org/ns/structure/1.0">
      <element name="object"><attribute name="name"/>
        <zeroOrMore><element name="attribute"><attribute name="type"/></element></zeroOrMore>
      </element></element>""")
    with pytest.raises(ConfigError) as raised:
        validate(parse(b"<model>\n<object name='a'>\n<attribute typo='x'/>\n</object>\n</model>", "n.xml"),
                 schema, "n.xml")
    assert str(raised.value).startswith("n.xml:3:")
