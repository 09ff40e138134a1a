"""Model files: the published schema, and clear errors for bad input (file, line, what)."""
from __future__ import annotations

from pathlib import Path

import pytest

from caruso_core.errors import ConfigError
from caruso_storage import loader

GOOD = """<model name="m">
  <object name="A" table="a">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="name" type="string" length="20"/>
    {extra}
  </object>
  <object name="B">
    <attribute name="id" type="integer" key="true"/>
    <attribute name="a_id" type="integer"/>
  </object>
</model>
"""


def model_text(extra: str = "") -> bytes:
    return GOOD.format(extra=extra).encode()


def test_the_packaged_model_and_a_small_one_load():
    model = loader.load_default()
    assert set(model.objects) == {"Customer", "Contact", "Task", "Tag", "Opportunity", "Quote", "SalesOrder",
                                  "Lead", "Activity", "Consent", "KnowledgeArticle"}
    assert [rule.name for rule in model.objects["Opportunity"].rules] == ["rfp_review", "won_to_sales_order"]
    assert loader.load_default() is model                  # built once per process: a model is immutable
    small = loader.loads(model_text('<relation name="bs" kind="one-to-many" target="B" foreign-key="a_id"/>'), "m.xml")
    assert small.objects["A"].relations["bs"].foreign_key == ("a_id",)
    assert small.objects["B"].table == "B" and small.default_database == "main"


BAD = {
    "malformed": (b"<model name='m'>\n  <object name='A'>\n</model>", r"m\.xml:3: malformed XML"),
    "unknown type": (model_text('<attribute name="x" type="money"/>'), r"m\.xml:5: A\.x: unknown type 'money'"),
    "dangling relation": (model_text('<relation name="c" kind="many-to-one" target="C" foreign-key="name"/>'),
                          r"m\.xml:5: A\.c: relation to unknown object 'C'"),
    "foreign key": (model_text('<relation name="b" kind="many-to-one" target="B" foreign-key="nope"/>'),
                    r"m\.xml:5: A\.b: A has no attribute 'nope'"),
    "schema": (model_text('<attribute name="x" type="string" colour="red"/>'), r"m\.xml:5: .*colour"),
    "no key": (b'<model name="m"><object name="A"><attribute name="x" type="string"/></object></model>',
               "has no key"),
    "conversion": (model_text('<attribute name="x" type="string" convert="cents"/>'),
                   'convert="cents" needs type decimal'),
    "default": (model_text('<attribute name="x" type="integer" default="many"/>'), "not a valid integer"),
    "twice": (model_text('<attribute name="name" type="string"/>'), r"m\.xml:5: A\.name is declared twice"),
    "name not an identifier": (model_text('<attribute name="größe" type="integer"/>'),
                               r"m\.xml:5: <attribute name='größe'>: a name is letters A-Z or a-z, digits and _"),
    "column in another case": (model_text('<attribute name="label" type="string" column="NAME"/>'),
                               r"m\.xml:5: A\.label: column 'NAME' is mapped twice \(names are compared whatever"),
    "storage's column": (model_text('<attribute name="v" type="integer" column="Caruso_Version"/>'),
                         r"m\.xml:5: A\.v: column names beginning with 'caruso_' are the storage's own"),
    "table in another case": (model_text().replace(b'<object name="B">', b'<object name="B" table="A">'),
                              r"m\.xml:7: table 'A' of B: table 'a' of A has this name already"),
    "storage's table": (model_text().replace(b'table="a"', b'table="caruso_outbox"'),
                        r"m\.xml:2: table 'caruso_outbox' of A: names beginning with 'caruso_' are the storage's own"),
    "index twice": (model_text('<index name="ix_n" attributes="name"/>').replace(
        b'<attribute name="a_id" type="integer"/>', b'<attribute name="a_id" type="integer"/><index name="IX_N" '
        b'attributes="a_id"/>'), r"m\.xml:\d+: index 'IX_N' of B: index 'ix_n' of A has this name already"),
    "index like a table": (model_text('<index name="B" attributes="name"/>'),
                           r"m\.xml:5: index 'B' of A: .*has this name already|m\.xml:7: table 'B' of B: index 'B'"),
    "rule field": (model_text('<rule name="r" on="update"><when><test field="nope" op="eq" value="1"/></when>'
                              '<action use="notify"/></rule>'), r"m\.xml:5: rule r: filter: A has no field 'nope'"),
    "rule action": (model_text('<rule name="r" on="update"><action use="launch"/></rule>'),
                    r"m\.xml:5: rule r: unknown action 'launch'"),
    "action target": (model_text('<rule name="r" on="create"><action use="create" object="Z"/></rule>'),
                      "object=.* must name an object"),
    "billion laughs": (b'<?xml version="1.0"?>\n<!DOCTYPE model [\n <!ENTITY a "aaaaaaaaaa">\n'
                       b' <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n<model name="&b;"/>',
                       "entity declarations are not allowed"),
    "external entity": (b'<?xml version="1.0"?>\n<!DOCTYPE model [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                        b'<model name="m"><object name="A"><attribute name="x" type="string" key="true"'
                        b' default="&x;"/></object></model>', "(entity declarations are not allowed|external entity)"),
    "external entity in text": (b'<?xml version="1.0"?>\n<!DOCTYPE model [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                                b'<model name="m"><object name="A"><rule name="r" on="create"><action use="notify">'
                                b'<set field="message">&x;</set></action></rule></object></model>',
                                "entity declarations are not allowed"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_models_are_clear_errors(case, tmp_path: Path):
    text, message = BAD[case]
    path = tmp_path / "m.xml"
    path.write_bytes(text)
    with pytest.raises(ConfigError, match=message) as raised:
        loader.load(path)
    assert "root:" not in str(raised.value) and "passwd" not in str(raised.value).replace("file:///etc/passwd", "")


def test_the_example_of_the_model_format_document_loads_as_written(tmp_path: Path):
    document = (Path(__file__).parents[2] / "docs" / "model-format.md").read_text(encoding="utf-8")
    example = document.split("## Example", 1)[1].split("```xml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "crm.xml").write_text(example)
    loaded = loader.load(tmp_path / "crm.xml")
    assert sorted(loaded.objects) == ["Customer", "Opportunity", "OrderLine", "Tag"]


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        loader.load(tmp_path / "missing.xml")
