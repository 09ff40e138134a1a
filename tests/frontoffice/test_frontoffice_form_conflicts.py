"""Saves the storage refuses as conflicts, over HTTP against the real storage with the utility
vertical's model and views: a customer number another customer has (a unique index) is shown
beside its field with a link to that customer; an edit saved in a second tab after the first
one saved shows the form again with both people's changes, saved on top of the new version; an
edit saved after its record was deleted keeps what was typed and offers a new one made from it; the
same edit sent twice goes to the record saved."""
from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from caruso_core.verticals import deployment_data
from caruso_frontoffice.app import create_app
from frontoffice_support import form_fields, make_context, sign_in

FORM = "/views/customer-edit"


def words(html):
    return " ".join(html.split())


@pytest.fixture
def utility(caruso_host, caruso_manager, caruso_client, tmp_path):
    """The utility vertical's storage (an empty database) and an in-process front office over
    its views, signed in as a supervisor; returns (client, storage)."""
    services = deployment_data(["utility"])["services"]
    caruso_host("storage", config={**services["storage"]["config"], "db": f"sqlite:///{tmp_path / 'u.db'}"})
    context = make_context(tmp_path, caruso_manager.uri, views=services["frontoffice"]["config"]["views"])
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "sam")
        yield web, caruso_client.get("caruso.storage/1")


def test_a_customer_number_in_use_is_refused_beside_its_field_with_a_link_to_its_customer(utility):
    web, storage = utility
    first = storage.create("Customer", {"customer_no": "100001", "name": "Anna de Vries"})
    page = web.get(f"{FORM}/new")
    new = {**form_fields(page.text), "customer_no": "100001", "name": "Bram Jansen"}
    refused = web.post(f"{FORM}/new", data=new)
    assert refused.status_code == 409
    assert (f'<input name="customer_no" value="100001" maxlength="10" type="text" required> '
            f'<span class="field-error" role="alert">Another Customer has this customer number '
            f'already <a href="/views/customer-360/show?id={first["id"]}">Open customer {first["id"]}</a></span>'
            in words(refused.text))
    assert '<ul class="error"' not in refused.text and "changed this record" not in refused.text
    assert 'value="Bram Jansen"' in refused.text                     # what was typed stays
    second = storage.create("Customer", {"customer_no": "100002", "name": "Bram Jansen"})
    edit = web.get(f"{FORM}/edit?id={second['id']}")
    clash = web.post(f"{FORM}/edit?id={second['id']}", data={**form_fields(edit.text), "customer_no": "100001"})
    assert clash.status_code == 409 and "changed this record" not in clash.text
    assert (f'"alert">Another Customer has this customer number already '
            f'<a href="/views/customer-360/show?id={first["id"]}">Open customer {first["id"]}</a>'
            in words(clash.text))
    assert [c["name"] for c in storage.query("Customer", None)] == ["Anna de Vries", "Bram Jansen"]
    assert storage.get("Customer", second["id"])["customer_no"] == "100002"


def test_an_edit_saved_after_anothers_keeps_both_changes_and_saves_on_the_new_version(utility):
    web, storage = utility
    customer = storage.create("Customer", {"customer_no": "100501", "name": "Cees Bakker", "street": "Dorpsstraat",
                                           "postcode": "1234AB", "city": "Amsterdam"})
    one, two = (form_fields(web.get(f"{FORM}/edit?id={customer['id']}").text) for _ in range(2))
    saved = web.post(f"{FORM}/edit?id={customer['id']}", data={**one, "city": "Utrecht", "postcode": "3511AA"},
                     follow_redirects=False)
    assert saved.status_code == 303
    repeated = web.post(f"{FORM}/edit?id={customer['id']}", data={**one, "city": "Utrecht", "postcode": "3511AA"},
                        follow_redirects=False)                       # a double click: the same form again
    assert repeated.status_code == 303 and repeated.headers["location"] == saved.headers["location"]
    assert "The record holds what this form says already." in web.get(repeated.headers["location"]).text
    late = web.post(f"{FORM}/edit?id={customer['id']}", data={**two, "street": "Kerkstraat", "postcode": "3511ZZ"})
    assert late.status_code == 409
    text = words(late.text)
    assert text.count("<li>") == 2 and "Someone changed this record" not in text and "reload" not in text
    assert (f"<li>Customer {customer['id']} was saved by someone else while you were editing it. The form keeps your "
            "entries and takes their changes of the fields you left alone; where you both changed a field, the value "
            "now stored is shown beside yours. Save again to store what the form shows.</li>") in text
    assert (f'<li><a href="{FORM}/edit?id={customer["id"]}">Drop your entries and open the form with the values '
            'now stored</a></li>') in text
    again = form_fields(late.text)
    assert again["street"] == "Kerkstraat"                            # only this tab changed it: its entry
    assert again["city"] == "Utrecht"                                 # only the other tab did: theirs
    assert '<span class="field-note">Changed by someone else meanwhile.</span>' in text
    assert again["postcode"] == "3511ZZ"                              # both did: this tab's, theirs beside it
    assert '<span class="field-note">Now stored: 3511AA. Saving keeps your entry.</span>' in text
    assert again["_version"] == str(storage.get("Customer", customer["id"])["_version"])
    assert web.post(f"{FORM}/edit?id={customer['id']}", data=again, follow_redirects=False).status_code == 303
    stored = storage.get("Customer", customer["id"])
    assert (stored["street"], stored["city"], stored["postcode"]) == ("Kerkstraat", "Utrecht", "3511ZZ")
    fresh = web.get(f"{FORM}/edit?id={customer['id']}")
    assert fresh.status_code == 200 and form_fields(fresh.text)["street"] == "Kerkstraat"


def test_an_edit_saved_after_its_record_was_deleted_keeps_what_was_typed(utility):
    web, storage = utility
    gone = storage.create("Customer", {"customer_no": "100009", "name": "Cees Bakker"})
    edit = web.get(f"{FORM}/edit?id={gone['id']}")
    storage.delete("Customer", gone["id"])
    refused = web.post(f"{FORM}/edit?id={gone['id']}", data={**form_fields(edit.text), "name": "Cees Bakker-Smit"})
    assert refused.status_code == 409
    assert "does not exist: it was deleted while you were editing it. Your entries are below." in words(refused.text)
    assert 'value="Cees Bakker-Smit"' in refused.text                 # what was typed stays
    [anew] = re.findall(rf'href="({FORM}/new\?[^"]+)">Make it anew from your entries', refused.text)
    again = web.get(anew.replace("&amp;", "&"))                         # a new form with what was typed
    assert 'value="Cees Bakker-Smit"' in again.text and 'value="100009"' in again.text
