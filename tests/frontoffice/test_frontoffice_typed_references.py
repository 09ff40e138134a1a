"""A form's reference typed by another attribute of the object it names (``by``): the user
types and sees the customer's name (or number) while the storage keeps the customer's key, on
new and edit forms, the changed-meanwhile page and a form made anew; a text naming no
object, or several, is refused beside the field. Served against the real storage with the
example CRM model."""
from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from caruso_frontoffice.app import create_app
from caruso_frontoffice.records import STORAGE, Records
from caruso_frontoffice.views.catalog import load, model_problems
from frontoffice_support import VIEWS, csrf_of, make_context, seed, sign_in

TYPED = """<views>
  <detail id="contact-named" object="Contact" title="Contact">
    <section label="Contact">
      <field name="name"/>
      <field name="customer_id" by="name" label="Customer"/>
    </section>
  </detail>
  <form id="lead-loose" object="Lead" title="Lead">
    <field name="name"/>
    <field name="status" required="false"/>
  </form>
  <form id="contact-by-name" object="Contact" title="Contact" delete="supervisor">
    <field name="customer_id" by="name" label="Customer"/>
    <field name="name"/>
    <field name="role"/>
  </form>
</views>
"""


def words(text):
    return " ".join(text.split())


def served(tmp_path, manager_uri):
    """A front office with the typed form whose metadata, once read, stays (a storage
    stopped later is noticed at the lookup, not at the form's description)."""
    views = tmp_path / "typed.xml"
    views.write_text(TYPED)
    context = make_context(tmp_path, manager_uri, views=[*VIEWS, str(views)])
    object.__setattr__(context, "records", Records(context.client.service(STORAGE), clock=lambda: 0.0))
    return TestClient(create_app(context), base_url="http://testserver")


@pytest.fixture
def typed(tmp_path, storage, caruso_manager):
    with served(tmp_path, caruso_manager.uri) as web:
        assert sign_in(web, "sam").status_code == 303
        yield web


def post(web, url, data):
    return web.post(url, data=data, follow_redirects=False)


def customer_named(storage, name):
    return storage.query("Customer", {"field": "name", "op": "eq", "value": name})[0]["id"]


def edit_form(web, contact_id):
    page = web.get(f"/views/contact-by-name/edit?id={contact_id}")
    hidden = {name: html.unescape(value) for name, value in re.findall(r'name="(_\w+|csrf)" value="([^"]*)"', page.text)}
    return page, hidden


def test_a_new_form_takes_the_customer_by_name_and_stores_the_key(typed, storage):
    acme = customer_named(storage, "Acme Utilities")
    form = typed.get(f"/views/contact-by-name/new?customer_id={acme}")           # a 360's link gives the key
    assert '<input name="customer_id" value="Acme Utilities"' in words(form.text)
    saved = post(typed, "/views/contact-by-name/new", {"csrf": csrf_of(form.text), "customer_id": "Berta Brandt",
                                                            "name": "Dora Dahl"})
    assert saved.status_code == 303
    [dora] = storage.query("Contact", {"field": "name", "op": "eq", "value": "Dora Dahl"})
    assert dora["customer_id"] == customer_named(storage, "Berta Brandt")

    lower = post(typed, "/views/contact-by-name/new", {"csrf": csrf_of(form.text), "customer_id": "acme utilities",
                                                        "name": "Fritz Falk"})
    assert lower.status_code == 303                              # not as stored: then whatever its case
    [fritz] = storage.query("Contact", {"field": "name", "op": "eq", "value": "Fritz Falk"})
    assert fritz["customer_id"] == acme
    storage.create("Customer", {"name": "100% Bio_Markt"})
    literal = post(typed, "/views/contact-by-name/new", {"csrf": csrf_of(form.text), "customer_id": "100_ bio%markt",
                                                          "name": "Gina Gast"})
    assert "There is no customer with name 100_ bio%markt" in literal.text      # no wildcards
    unknown = post(typed, "/views/contact-by-name/new", {"csrf": csrf_of(form.text), "customer_id": "Nobody GmbH",
                                                              "name": "Egon Ernst"})
    assert unknown.status_code == 400
    assert ('value="Nobody GmbH" maxlength="120" type="text" required> <span class="field-error" role="alert">There is no '
            'customer with name Nobody GmbH</span>') in words(unknown.text)
    storage.create("Customer", {"name": "Berta Brandt", "city": "Köln"})
    twice = post(typed, "/views/contact-by-name/new", {"csrf": csrf_of(form.text), "customer_id": "Berta Brandt",
                                                            "name": "Egon Ernst"})
    assert twice.status_code == 400
    assert ('<span class="field-error" role="alert">More than one customer has name Berta Brandt</span>'
            in words(twice.text))
    assert storage.count("Contact", {"field": "name", "op": "eq", "value": "Egon Ernst"}) == 0


def test_an_edit_shows_the_name_keeps_the_key_and_says_what_someone_else_changed(typed, storage):
    acme, berta = customer_named(storage, "Acme Utilities"), customer_named(storage, "Berta Brandt")
    [carl] = storage.query("Contact", {"field": "name", "op": "eq", "value": "Carl Meier"})
    page, hidden = edit_form(typed, carl["id"])
    assert '<input name="customer_id" value="Acme Utilities"' in words(page.text)
    moved = post(typed, f"/views/contact-by-name/edit?id={carl['id']}", {
        **hidden, "customer_id": "Berta Brandt", "name": "Carl Meier", "role": "facility manager"})
    assert moved.status_code == 303
    assert storage.get("Contact", carl["id"])["customer_id"] == berta

    page, hidden = edit_form(typed, carl["id"])                 # someone else moves him back meanwhile
    storage.update("Contact", carl["id"], {"customer_id": acme})
    renamed = post(typed, f"/views/contact-by-name/edit?id={carl['id']}", {
        **hidden, "customer_id": "Berta Brandt", "name": "Carl Maier", "role": "facility manager"})
    assert renamed.status_code == 409
    assert ('<input name="customer_id" value="Acme Utilities"' in words(renamed.text)
            and "Changed by someone else meanwhile." in renamed.text)

    page, hidden = edit_form(typed, carl["id"])                 # deleted meanwhile: made anew by the key
    storage.delete("Contact", carl["id"])
    gone = post(typed, f"/views/contact-by-name/edit?id={carl['id']}", {
        **hidden, "customer_id": "Acme Utilities", "name": "Carl Meier", "role": "facility manager"})
    assert gone.status_code == 409
    anew = html.unescape(re.search(r'<a href="([^"]+)">Make it anew', gone.text).group(1))
    assert parse_qs(urlsplit(anew).query)["customer_id"] == [str(acme)]
    assert '<input name="customer_id" value="Acme Utilities"' in words(typed.get(anew).text)


def test_a_field_left_as_shown_keeps_its_key_even_one_naming_nobody_and_delete_shows_the_name(typed, storage):
    acme = customer_named(storage, "Acme Utilities")
    orphan = storage.create("Contact", {"customer_id": 999999, "name": "Olga Ohne"})
    page, hidden = edit_form(typed, orphan["id"])
    assert ('<input name="customer_id" value="999999"' in words(page.text)
            and "This names customer 999999, which does not exist: type a name to change it." in page.text)
    kept = post(typed, f"/views/contact-by-name/edit?id={orphan['id']}", {
        **hidden, "customer_id": "999999", "name": "Olga Ohne", "role": "buyer"})
    assert kept.status_code == 303                              # left alone: kept, not looked up as a name
    assert (storage.get("Contact", orphan["id"])["customer_id"], storage.get("Contact", orphan["id"])["role"]) == (
        999999, "buyer")
    page, hidden = edit_form(typed, orphan["id"])
    forged = post(typed, f"/views/contact-by-name/edit?id={orphan['id']}", {
        **hidden, "_keys": json.dumps({"customer_id": [424242, json.loads(hidden["_keys"])["customer_id"][1]]}),
        "customer_id": "999999", "name": "Olga Ohne", "role": "buyer"})
    assert forged.status_code == 400                            # a forged key is checked as an entry is
    assert "There is no customer with id 424242" in forged.text
    page, hidden = edit_form(typed, orphan["id"])
    emptied = post(typed, f"/views/contact-by-name/edit?id={orphan['id']}", {
        **hidden, "_keys": json.dumps({"customer_id": [None, json.loads(hidden["_keys"])["customer_id"][1]]}),
        "customer_id": "999999", "name": "Olga Ohne", "role": "buyer"})
    assert emptied.status_code == 400                           # no key: what was typed is looked up
    assert storage.get("Contact", orphan["id"])["customer_id"] == 999999
    page, hidden = edit_form(typed, orphan["id"])
    moved = post(typed, f"/views/contact-by-name/edit?id={orphan['id']}", {
        **hidden, "customer_id": "Acme Utilities", "name": "Olga Ohne", "role": "buyer"})
    assert moved.status_code == 303 and storage.get("Contact", orphan["id"])["customer_id"] == acme
    page, hidden = edit_form(typed, orphan["id"])
    asked = typed.get(post(typed, f"/views/contact-by-name/delete?id={orphan['id']}", hidden).headers["location"])
    assert asked.status_code == 200 and "Acme Utilities" in asked.text and f">{acme}<" not in asked.text
    shown = words(typed.get(f"/views/contact-named/show?id={orphan['id']}").text)   # a detail shows it so too
    assert "<dt>Customer</dt><dd>Acme Utilities</dd>" in shown


def test_a_lookup_the_storage_cannot_answer_keeps_the_entries(tmp_path, caruso_host, caruso_client, caruso_manager):
    host = caruso_host("storage")
    seed(caruso_client.get("caruso.storage/1"))
    with served(tmp_path, caruso_manager.uri) as web:
        assert sign_in(web, "sam").status_code == 303
        form = web.get("/views/contact-by-name/new")
        host.stop()
        refused = post(web, "/views/contact-by-name/new", {"csrf": csrf_of(form.text), "customer_id": "Berta Brandt",
                                                             "name": "Dora Dahl"})
    assert refused.status_code == 503
    assert "The form could not look up what you typed" in refused.text
    assert 'value="Berta Brandt"' in refused.text and 'value="Dora Dahl"' in refused.text


def test_views_check_names_a_by_that_is_no_reference_or_that_the_object_lacks(tmp_path, storage):
    views = tmp_path / "typed.xml"
    views.write_text(TYPED.replace('<field name="customer_id" by="name" label="Customer"/>\n    <field name="name"/>',
                                   '<field name="customer_id" by="nickname"/>\n    <field name="name"/>')
                     .replace('<field name="role"/>', '<field name="role" by="name"/>')
                     .replace('<field name="name"/>\n      <field name="customer_id" by="name"',
                              '<field name="name" by="name"/>\n      <field name="customer_id" by="name"'))
    problems = model_problems(load([*VIEWS, str(views)]), storage.describe()["objects"])
    assert [problem.split(": ", 1)[1] for problem in problems if "by=" in problem] == [
        "detail 'contact-named' field 'name' by='name': Contact.name is no reference (a many-to-one relation on it "
        "alone, to an object with a one-attribute key)",
        "form 'contact-by-name' field 'customer_id' by='nickname': Customer has no attribute 'nickname'",
        "form 'contact-by-name' field 'role' by='name': Contact.role is no reference (a many-to-one relation on it "
        "alone, to an object with a one-attribute key)"]


def test_a_choice_the_model_defaults_is_required_unless_the_view_says_otherwise(typed):
    assert '<select name="status" required>' in typed.get("/views/lead-edit/new").text
    assert '<select name="status">' in typed.get("/views/lead-loose/new").text


def test_a_malformed_or_oversized_keys_field_or_typed_text_is_only_ever_looked_up(typed, storage):
    """``_keys`` is what a browser sends back: not JSON, nested past the reader, of another
    shape or with a key of another type, it is ignored and what was typed is looked up; a form
    body past the front office's bound is refused whole (413); typed text longer than the
    attribute it names is refused beside the field without a lookup. A save sent again changes
    nothing."""
    berta = customer_named(storage, "Berta Brandt")
    [carl] = storage.query("Contact", {"field": "name", "op": "eq", "value": "Carl Meier"})
    for forged in ("not json", "[" * 20_000, '{"customer_id": "Acme Utilities"}', '{"customer_id": [1, 2, 3]}',
                   json.dumps({"customer_id": [True, "x"]})):
        page, hidden = edit_form(typed, carl["id"])
        saved = post(typed, f"/views/contact-by-name/edit?id={carl['id']}", {
            **hidden, "_keys": forged, "customer_id": "Berta Brandt", "name": "Carl Meier", "role": "facility manager"})
        assert saved.status_code == 303, forged[:40]
        assert storage.get("Contact", carl["id"])["customer_id"] == berta
    version = storage.get("Contact", carl["id"])["_version"]
    again = post(typed, f"/views/contact-by-name/edit?id={carl['id']}", {     # the last save sent again
        **hidden, "_keys": forged, "customer_id": "Berta Brandt", "name": "Carl Meier", "role": "facility manager"})
    assert again.status_code == 303 and storage.get("Contact", carl["id"])["_version"] == version
    page, hidden = edit_form(typed, carl["id"])
    huge = post(typed, f"/views/contact-by-name/edit?id={carl['id']}", {
        **hidden, "_keys": json.dumps({"customer_id": [1, "x" * 100_000]}), "customer_id": "Acme Utilities",
        "name": "Carl Meier", "role": "facility manager"})
    assert huge.status_code == 413 and storage.get("Contact", carl["id"])["customer_id"] == berta   # body bounded
    long = post(typed, f"/views/contact-by-name/edit?id={carl['id']}", {
        **hidden, "customer_id": "B" * 10_000, "name": "Carl Meier", "role": "facility manager"})
    assert long.status_code == 400 and '<span class="field-error" role="alert">At most 120 characters' in long.text
    assert storage.get("Contact", carl["id"])["customer_id"] == berta
