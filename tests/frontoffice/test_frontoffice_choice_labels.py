"""Choices with labels (``choices="HR=Herr|FR=Frau|FI=Firma"`` in the model) as the front
office shows them: the labels in lists, their filters and CSV, record pages and forms'
selects, while the codes are what forms and filters send and what is stored; over HTTP,
and a form filled in Chromium."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import caruso_storage
from caruso_frontoffice.app import create_app
from frontoffice_support import DESKTOP, PACKAGED, QUICK_COST, add_users, csrf_of, make_context, sign_in, Tab

DEFAULT_MODEL = Path(caruso_storage.__file__).parent / "default_model.xml"
LABELLED = """<model name="salutations">
  <extend object="Customer">
    <attribute name="salutation" type="string" length="2" choices="HR=Herr|FR=Frau|FI=Firma"/>
  </extend>
  <extend object="Contact">
    <attribute name="duty" type="string" length="1" choices="T=Technik|K=Kaufmännisch"/>
  </extend>
</model>"""
VIEWS = """<views version="1">
  <list id="people" object="Customer" title="People" detail="person" form="person-edit">
    <filter field="salutation"/><column field="name"/><column field="salutation"/><order field="name"/>
  </list>
  <detail id="person" object="Customer" title="Person" form="person-edit">
    <section label="Who"><field name="name"/><field name="salutation"/></section>
  </detail>
  <form id="person-edit" object="Customer" title="Person" detail="person">
    <field name="name"/><field name="salutation"/>
  </form>
  <form id="person-rename" object="Customer" title="Rename" detail="person" create="false">
    <field name="name"/><field name="salutation" widget="readonly"/>
  </form>
  <list id="people-contacts" object="Contact" title="Contacts"><column field="name"/><column field="duty"/></list>
  <customer360 id="person-360" object="Customer" title="Person 360">
    <profile detail="person"/>
    <related object="Contact" field="customer_id" label="Contacts" list="people-contacts"/>
  </customer360>
</views>"""


@pytest.fixture
def storage(tmp_path, caruso_host, caruso_client):
    """The storage service on the example model with labelled salutations, four customers in it."""
    (tmp_path / "salutations.xml").write_text(LABELLED)
    caruso_host("storage", config={"model": [str(DEFAULT_MODEL), str(tmp_path / "salutations.xml")],
                                   "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    storage = caruso_client.get("caruso.storage/1")
    for name, code in (("Anna Arndt", "FR"), ("Bodo Berg", "HR"), ("Cura GmbH", "FI"), ("Dora Dahl", "FR")):
        storage.create("Customer", {"name": name, "salutation": code})
    return storage


@pytest.fixture
def views(tmp_path) -> list[str]:
    (tmp_path / "people.xml").write_text(VIEWS)
    return [PACKAGED, str(tmp_path / "people.xml")]


@pytest.fixture
def web(tmp_path, caruso_manager, storage, views):
    with TestClient(create_app(make_context(tmp_path, caruso_manager.uri, views=views)),
                    base_url="http://testserver") as client:
        sign_in(client, "ada")
        yield client, storage


def cells(html: str) -> list[str]:
    """The text of each table cell of a page."""
    return [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", html)]


def test_lists_their_filters_and_csv_show_labels_and_filter_by_code(web):
    client, _ = web
    listed = client.get("/views/people")
    assert cells(listed.text) == ["Anna Arndt", "Frau", "Bodo Berg", "Herr", "Cura GmbH", "Firma", "Dora Dahl", "Frau"]
    assert '<option value="FR">Frau</option>' in listed.text and '<option value="FI">Firma</option>' in listed.text
    women = client.get("/views/people", params={"f.salutation": "FR"})
    assert "2 found" in women.text and "Anna Arndt" in women.text and "Bodo Berg" not in women.text
    assert '<option value="FR" selected>Frau</option>' in women.text
    wrong = client.get("/views/people", params={"f.salutation": "Frau"})
    assert wrong.status_code == 400 and "Salutation: choose one of Herr, Frau, Firma" in wrong.text
    assert cells(wrong.text) == [] and "0 found" in wrong.text                # not every row, as if unfiltered
    exported = list(csv.reader(io.StringIO(client.get("/views/people/export.csv").text)))
    assert exported[1:] == [["Anna Arndt", "Frau"], ["Bodo Berg", "Herr"], ["Cura GmbH", "Firma"],
                            ["Dora Dahl", "Frau"]]


def test_record_pages_show_the_label_and_forms_select_labels_but_store_codes(web):
    client, storage = web
    [bodo] = storage.query("Customer", {"field": "name", "op": "eq", "value": "Bodo Berg"})
    shown = client.get("/views/person/show", params={"id": bodo["id"]})
    assert re.search(r">Salutation</\w+>\s*<\w+>Herr<", shown.text) and ">HR<" not in shown.text
    edit = client.get("/views/person-edit/edit", params={"id": bodo["id"]})
    assert ('<option value="HR" selected>Herr</option><option value="FR">Frau</option>'
            '<option value="FI">Firma</option>') in edit.text
    saved = client.post(f"/views/person-edit/edit?id={bodo['id']}", follow_redirects=False, data={
        "csrf": csrf_of(edit.text), "_version": edit.text.split('name="_version" value="')[1].split('"')[0],
        "name": "Bodo Berg", "salutation": "FI"})
    assert saved.status_code == 303
    assert storage.get("Customer", bodo["id"])["salutation"] == "FI"
    storage.create("Contact", {"customer_id": bodo["id"], "name": "Carl Meier", "duty": "K"})
    whole = client.get("/views/person-360/show", params={"id": bodo["id"]})
    assert ["Carl Meier", "Kaufmännisch"] == cells(whole.text) and re.search(r">Salutation</\w+>\s*<\w+>Firma<", whole.text)
    refused = client.post("/views/person-edit/new", data={"csrf": csrf_of(edit.text), "name": "Emil",
                                                          "salutation": "Herr"})
    assert refused.status_code == 400 and "Choose one of Herr, Frau, Firma</span>" in refused.text   # beside it
    assert storage.count("Customer", {"field": "name", "op": "eq", "value": "Emil"}) == 0


def test_a_read_only_choice_in_a_form_shows_its_label_and_saving_keeps_its_code(web):
    client, storage = web
    [anna] = storage.query("Customer", {"field": "name", "op": "eq", "value": "Anna Arndt"})
    edit = client.get("/views/person-rename/edit", params={"id": anna["id"]})
    assert "<output>Frau</output>" in edit.text and 'name="salutation"' not in edit.text
    saved = client.post(f"/views/person-rename/edit?id={anna['id']}", follow_redirects=False, data={
        "csrf": csrf_of(edit.text), "_version": edit.text.split('name="_version" value="')[1].split('"')[0],
        "name": "Anna Arndt-Berg", "salutation": "HR"})       # a forged value for the read-only field
    assert saved.status_code == 303
    assert {key: storage.get("Customer", anna["id"])[key] for key in ("name", "salutation")} == {
        "name": "Anna Arndt-Berg", "salutation": "FR"}


def test_in_chromium_a_form_offers_the_labels_and_saves_the_code(tmp_path, caruso_host, caruso_client, storage, views,
                                                                  chromium, shots):
    db = f"sqlite:///{tmp_path / 'served.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"password_cost": QUICK_COST,
                                       "address": "http://127.0.0.1:0", "db": db, "views": views})
    tab = Tab(chromium, caruso_client.get("frontoffice").url(), DESKTOP, shots)
    try:
        tab.sign_in("ada").wait_for_url("**/")
        page = tab.open("/views/person-edit/new")
        options = page.locator("select[name=salutation] option")
        assert options.all_inner_texts() == ["", "Herr", "Frau", "Firma"]
        page.fill("input[name=name]", "Emma Ernst")
        page.select_option("select[name=salutation]", label="Frau")
        page.click("form.record button[type=submit]")
        page.wait_for_url(re.compile(r"/views/person/show\?id=\d+$"))
        assert page.locator("dd").all_inner_texts() == ["Emma Ernst", "Frau"]
        [emma] = storage.query("Customer", {"field": "name", "op": "eq", "value": "Emma Ernst"})
        assert emma["salutation"] == "FR"
        tab.open("/views/people?f.salutation=FR")
        assert page.locator("table td:nth-child(2)").all_inner_texts() == ["Frau", "Frau", "Frau"]
        tab.check_layout("the list filtered by a labelled choice")
    finally:
        tab.close()
