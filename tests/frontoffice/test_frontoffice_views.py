"""View definitions: the schema, the hardened loader with file:line errors, merging by id."""
import pytest

from caruso_core.errors import ConfigError
from caruso_frontoffice.views.catalog import load, model_problems
from caruso_frontoffice.views.loader import MAX_BYTES, parse
from caruso_frontoffice.views.model import Customer360View, DetailView, FormView, ListView
from frontoffice_support import OVERRIDE, PACKAGED, VIEWS


def test_the_packaged_crm_views_load_with_their_structure():
    catalog = load([PACKAGED])
    customers = catalog.views["customers"]
    assert isinstance(customers, ListView)
    assert customers.search == ("name", "email", "phone", "city") and customers.page_size == 25
    assert [c.name for c in customers.columns] == ["name", "city", "segment", "email", "phone"]
    assert customers.columns[3].label == "E-mail" and customers.source.line == 17
    assert customers.detail == "customer-360" and customers.form == "customer-edit"
    assert isinstance(catalog.views["customer"], DetailView)
    assert isinstance(catalog.views["customer-edit"], FormView)
    full = catalog.views["customer-360"]
    assert isinstance(full, Customer360View) and full.profile == "customer" and full.history_limit == 50
    assert [r.object for r in full.related] == ["Task", "Activity", "Contact", "Opportunity"]
    assert [(a.label, a.form, a.field) for a in full.acts] == [
        ("Edit", "customer-edit", None), ("New task", "task-edit", "customer_id"),
        ("New activity", "activity-edit", "customer_id"), ("New contact", "contact-edit", "customer_id"),
        ("New opportunity", "opportunity-edit", "customer_id")]
    assert catalog.menus_for("agent") == [("CRM", [
        ("customers", "Customers"), ("leads", "Leads"), ("opportunities", "Opportunities"), ("quotes", "Quotes"),
        ("sales-orders", "Sales orders"), ("activities", "Activities"), ("tasks", "Tasks")])]


def test_field_and_view_roles_of_the_override():
    catalog = load(VIEWS)
    assert catalog.views["customers"].columns[3].roles == {"supervisor", "admin"}
    assert catalog.views["customers"].page_size == 10
    assert catalog.menus_for("agent") == [("CRM", [
        ("customers", "Customers"), ("leads", "Leads"), ("opportunities", "Opportunities"), ("quotes", "Quotes"),
        ("sales-orders", "Sales orders"), ("activities", "Activities")])]
    assert catalog.menus_for("supervisor")[0][1][-1] == ("tasks", "Tasks")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_integrator_overrides_one_view_and_keeps_the_rest(tmp_path):
    override = write(tmp_path, "override.xml", """<views>
  <list id="customers" object="Customer" title="Our customers" roles="agent">
    <column field="name"/>
  </list>
</views>""")
    catalog = load([PACKAGED, override])
    assert catalog.views["customers"].title == "Our customers"
    assert catalog.views["customers"].source.file == str(override)
    assert catalog.views["customer"].source == load([PACKAGED]).views["customer"].source   # the rest stays
    assert list(catalog.views)[-1] == "customers" and len(catalog.views) == len(load([PACKAGED]).views)
    folder = tmp_path / "vertical"
    folder.mkdir()
    write(folder, "10-base.xml", OVERRIDE.read_text().replace('title="Tasks"', 'title="Base tasks"'))
    write(folder, "20-local.xml", override.read_text())
    merged = load([PACKAGED, folder])
    assert merged.views["customers"].title == "Our customers" and merged.views["tasks"].title == "Base tasks"


def test_views_from_an_installed_package(tmp_path, monkeypatch):
    package = tmp_path / "caruso_vertical_sample"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write(package, "views.xml", OVERRIDE.read_text().replace('detail="customer-360" ', "")
          .replace('detail="customer"', "").replace('form="customer-edit"', ""))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "customers" in load(["caruso_vertical_sample:views.xml"]).views
    with pytest.raises(ConfigError, match="no installed package 'caruso_no_such_pkg'"):
        load(["caruso_no_such_pkg:views.xml"])


@pytest.mark.parametrize("text, message", [
    ("<views><list id='a' object='Customer'><column field='name'/></list", ":1: "),
    ("<views>\n<list id='a' object='Customer'>\n<column/>\n</list></views>", ":3: "),
    ("<views>\n<list id='a' object='Customer' roles='agent owner'><column field='x'/></list></views>", ":2: "),
    ("<views>\n<form id='a' object='Customer'><field name='x' widget='slider'/></form></views>", ":2: "),
    ("<views>\n<list id='a' object='Customer'><column field='x'/></list>\n"
     "<list id='a' object='Customer'><column field='y'/></list></views>", ":3: view id 'a' is defined twice"),
    ("<views>\n<list id='a' object='1bad'><column field='x'/></list></views>", ":2: "),
    ("<!DOCTYPE views [<!ENTITY x 'boom'>]><views><menu id='m' label='&x;'><item view='a'/></menu></views>",
     "entity declarations are not allowed"),
    ("<!DOCTYPE views SYSTEM 'file:///etc/passwd'><views>&passwd;</views>", "passwd"),
])
def test_bad_view_files_are_refused_with_file_and_line(text, message):
    with pytest.raises(ConfigError) as caught:
        parse(text.encode(), "bad.xml")
    assert str(caught.value).startswith("bad.xml:") and message in str(caught.value)


def test_entity_bombs_are_not_expanded():
    bomb = ("<!DOCTYPE views [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
            "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>]><views><menu id='m' label='&c;'>"
            "<item view='x'/></menu></views>")
    with pytest.raises(ConfigError, match="bad.xml:1: entity declarations are not allowed"):
        parse(bomb.encode(), "bad.xml")


def test_a_doctype_naming_an_outside_file_loads_nothing():
    assert parse(b"<!DOCTYPE views SYSTEM 'file:///etc/passwd'><views/>", "ok.xml") == []


def test_size_limit():
    with pytest.raises(ConfigError, match="larger than"):
        parse(b"<views>" + b" " * MAX_BYTES + b"</views>", "big.xml")


@pytest.mark.parametrize("text, message", [
    ("<views><menu id='m' label='M'><item view='nope'/></menu></views>", "menu 'm' item names view 'nope'"),
    ("<views><list id='l' object='C' detail='l'><column field='x'/></list></views>",
     "list 'l' detail names view 'l', which is a list view"),
    ("<views><customer360 id='c' object='C'><profile detail='gone'/></customer360></views>",
     "customer360 'c' profile names view 'gone'"),
    ("<views><form id='f' object='C'><field name='risk' widget='percent'/></form></views>",
     "form 'f' field 'risk': the percent widget only shows values"),
    ("<views><list id='l' object='C'><column field='c' open='gone'/></list></views>",
     "list 'l' column 'c' open names view 'gone', which no view file defines"),
    ("<views><list id='l' object='C'><column field='c' open='l'/></list></views>",
     "list 'l' column 'c' open names view 'l', which is a list view"),
    ("<views><form id='f' object='C'><field name='c' open='f'/></form></views>",
     "form 'f' field 'c': open belongs to the fields of detail views and to list columns"),
    ("<views><detail id='d' object='C'><section label='S'><field name='c' open='gone'/></section></detail></views>",
     "detail 'd' field 'c' open names view 'gone', which no view file defines"),
    ("<views><detail id='d' object='C'><section label='S'><field name='c'/></section>"
     "<related object='O' field='c_id' label='Os' list='d'/></detail></views>",
     "detail 'd' O names view 'd', which is a detail view"),
    ("<views><list id='l' object='C'><column field='c'/></list><detail id='d' object='C'><section label='S'>"
     "<field name='c'/></section><related object='O' field='c_id' label='Os' list='l'/></detail></views>",
     "detail 'd' O: list 'l' shows C, not O"),
    ("<views><form id='f' object='C' roles='supervisor' delete='agent supervisor'><field name='n'/></form></views>",
     r"form 'f' delete: agent cannot open the form \(its roles: supervisor\)"),
])
def test_references_between_views_are_checked(tmp_path, text, message):
    path = write(tmp_path, "refs.xml", text)
    with pytest.raises(ConfigError, match=message) as caught:
        load([path])
    assert str(caught.value).startswith(f"{path}:1: ")


def test_missing_sources_are_named(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        load([tmp_path / "absent.xml"])


def test_related_tables_need_a_reference_to_a_record_of_a_one_attribute_key(tmp_path):
    """A related table shows the objects whose field names the record shown: the field must be
    a many-to-one relation to the view's object, else it would show another record's."""
    path = write(tmp_path, "lines.xml", """<views>
  <detail id="line" object="Line"><section label="L"><field name="no"/></section>
    <related object="Note" field="line_id" label="Notes"/></detail>
  <detail id="order" object="Order"><section label="O"><field name="no"/></section>
    <related object="Line" field="order_no" label="Lines"/>
    <related object="Note" field="line_id" label="Notes"/>
    <related object="Note" field="author_id" label="By"/></detail>
</views>""")
    to = {"order": {"kind": "many-to-one", "target": "Order", "foreign_key": ["order_no"]},
          "author": {"kind": "many-to-one", "target": "Person", "foreign_key": ["author_id"]}}
    objects = {"Line": {"key": ["order_no", "no"], "attributes": {"order_no": {}, "no": {}}, "relations": to},
               "Order": {"key": ["no"], "attributes": {"no": {}}},
               "Note": {"key": ["id"], "attributes": {"line_id": {}, "author_id": {}}, "relations": to}}
    assert model_problems(load([path]), objects) == [
        f"{path}:3: detail 'line' related Note: Line has a key of more than one attribute (a related table needs a "
        "key of one)",
        f"{path}:6: detail 'order' related Note: Note.line_id relates to no Order (no many-to-one relation on it "
        "alone)",
        f"{path}:7: detail 'order' related Note: Note.author_id relates to Person, not Order"]
