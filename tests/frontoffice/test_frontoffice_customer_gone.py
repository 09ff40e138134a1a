"""Customer accounts whose customer record is gone: the storage deletes customers without
knowing the front office's accounts (no cascade across services), so the front office checks
a customer account's key when it signs in and at each self-service request. One that names
no customer any more (or several, or an attribute the model lost) is refused with one clear
line and logged; the Users page marks it for an admin to remove. When the storage does not
answer, nobody is refused for it (it is logged)."""
from __future__ import annotations

import html
import logging
import re

import attrs
import pytest
from starlette.testclient import TestClient

from caruso_frontoffice.app import create_app
from frontoffice_support import csrf_of, make_context, sign_in

GREET = """<?xml version="1.0"?>
<script id="greet" version="1" title="My account">
  <bind name="customer" object="Customer" key="context.customer_id"/>
  <question id="topic" type="text"><prompt>Hello {customer.name}, what is it about?</prompt>
    <go to="done"/></question>
  <end id="done" outcome="asked"/>
</script>"""
GINA, CORA = ("gina", "gina-secret-1"), ("cora", "cora-secret-1")
UNLINKED = "Your customer account is no longer linked to a customer record"


@pytest.fixture
def portal(storage, caruso_host, caruso_manager, tmp_path):
    """The portal publishing ``greet`` (which binds the customer's record); the customer
    accounts cora (Acme) and gina (a customer of her own, deleted by the tests)."""
    (tmp_path / "greet.xml").write_text(GREET)
    caruso_host("scripts", config={"scripts": [str(tmp_path / "greet.xml")], "db": f"sqlite:///{tmp_path / 's.db'}"})
    context = attrs.evolve(make_context(tmp_path, caruso_manager.uri), self_service=("greet",))
    gina = storage.create("Customer", {"name": "Gina Gone", "city": "Kiel"})
    context.accounts.add(*CORA[:1], "customer", CORA[1], "customer_id=1")
    context.accounts.add(*GINA[:1], "customer", GINA[1], f"customer_id={gina['id']}")
    with TestClient(create_app(context), base_url="http://testserver") as web:
        yield web, context, gina


def _start(web):
    return web.post("/portal/start/greet", data={"csrf": csrf_of(web.get("/").text)}, follow_redirects=False)


def _error(page):
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    return found and html.unescape(found.group(1))


def test_an_account_whose_customer_was_deleted_is_refused_at_each_request_and_at_sign_in(portal, storage, caplog):
    web, context, gina = portal
    assert sign_in(web, *GINA).status_code == 303
    session = _start(web).headers["location"]
    assert "Hello Gina Gone, what is it about?" in web.get(session).text
    storage.delete("Customer", gina["id"])
    caplog.set_level(logging.WARNING, "caruso.frontoffice")
    for refused in (web.get("/portal"), web.get(session), _start(web), web.get("/portal/chat"),
                    web.get("/portal/articles"), web.post(session, data={"csrf": csrf_of(web.get("/").text),
                                                                         "seq": "0", "answer": "bills"})):
        assert refused.status_code == 403 and _error(refused.text).startswith(UNLINKED), refused.request.url
    assert "gina" in caplog.text and f"no Customer with id={gina['id']}" in caplog.text
    web.post("/signout", data={"csrf": csrf_of(web.get("/").text)})
    again = sign_in(web, *GINA)                                       # the right password, a customer gone
    assert again.status_code == 403 and _error(again.text).startswith(UNLINKED)
    assert web.get("/", follow_redirects=False).headers["location"] == "/signin"       # not signed in
    assert "sign-in of 'gina'" in caplog.text
    anonymous = web.get("/portal")                                    # the portal itself still serves anyone
    assert anonymous.status_code == 200 and "My account" in anonymous.text
    sign_in(web, *CORA)                                               # a customer who is there is not affected
    assert "Hello Acme Utilities" in web.get(_start(web).headers["location"]).text


def test_attack_keys_that_name_no_single_customer_any_more_are_refused_too(portal, storage, caplog):
    web, context, gina = portal
    caplog.set_level(logging.WARNING, "caruso.frontoffice")
    context.accounts.add("bert", "customer", "bert-secret-1", "city=Kiel")       # as --no-check would add it
    context.accounts.add("olga", "customer", "olga-secret-1", "shoe_size=42")
    assert sign_in(web, "bert", "bert-secret-1").status_code == 303           # one customer in Kiel: Gina
    storage.create("Customer", {"name": "Kurt Kohl", "city": "Kiel"})
    assert web.get("/portal").status_code == 403                              # now two: whose would it be?
    assert "several customers have it" in caplog.text
    refused = sign_in(web, "olga", "olga-secret-1")
    assert refused.status_code == 403 and _error(refused.text).startswith(UNLINKED)
    assert "Customer has no attribute 'shoe_size'" in caplog.text


def test_the_users_page_marks_accounts_whose_customer_is_gone(portal, storage):
    web, context, gina = portal
    context.accounts.add("bert", "customer", "bert-secret-1", "city=Berlin, segment=business")
    context.accounts.add("olga", "customer", "olga-secret-1", "shoe_size=42")
    context.accounts.add("ivan", "customer", "ivan-secret-1", "customer_id=abc")     # spoils a batch of ids
    many = [storage.create("Customer", {"name": f"Customer {n}", "city": "Ulm"})["id"] for n in range(3)]
    for n, key in enumerate(many):
        context.accounts.add(f"c{n}", "customer", "many-secret-1", f"customer_id={key}")
    storage.delete("Customer", gina["id"])
    storage.delete("Customer", many[1])
    sign_in(web, "root")
    page = web.get("/admin/users")
    assert page.status_code == 200
    rows = {name: html.unescape(re.sub(r"<[^>]+>", " ", row)) for name, row in
            re.findall(r'<tr data-user="([^"]+)">(.*?)</tr>', page.text, re.S)}
    assert "customer gone" in rows["gina"] and "customer gone" in rows["c1"]
    assert "Customer has no attribute 'shoe_size'" in rows["olga"] and "not a valid integer" in rows["ivan"]
    assert all("customer gone" not in rows[name] and "attribute" not in rows[name]
               for name in ("cora", "bert", "c0", "c2", "root", "ada"))
    removed = web.post("/admin/users/remove", data={"csrf": csrf_of(page.text), "name": "gina", "confirm": "yes",
                                                       "role": "customer"})
    assert removed.status_code == 200 and 'data-user="gina"' not in removed.text


def test_without_the_storage_nobody_is_refused_and_the_users_page_says_it_could_not_check(web, context, caplog):
    context.accounts.add("cora", "customer", "cora-secret-1", "customer_id=7")
    caplog.set_level(logging.WARNING, "caruso.frontoffice")
    assert sign_in(web, "cora", "cora-secret-1").status_code == 303
    portal = web.get("/portal")                       # no services at all: not refused as a customer gone
    assert portal.status_code == 503 and UNLINKED not in portal.text
    assert "customer account 'cora' was not checked" in caplog.text
    web.post("/signout", data={"csrf": csrf_of(web.get("/").text)})
    sign_in(web, "root")
    page = web.get("/admin/users")
    assert page.status_code == 200 and "customer gone" not in page.text
    assert "Whether the customer accounts still name their customer could not be checked" in page.text


def test_with_the_manager_down_the_portal_still_asks_the_storage(portal, storage, caruso_manager):
    """The front office keeps its proxies: once it found the storage, it asks it directly, so a
    customer whose record went while the manager was down is refused all the same."""
    web, context, gina = portal
    assert sign_in(web, *GINA).status_code == 303
    session = _start(web).headers["location"]
    assert "Hello Gina Gone, what is it about?" in web.get(session).text
    caruso_manager.stop()
    storage.delete("Customer", gina["id"])
    refused = web.get(session)
    assert refused.status_code == 403 and _error(refused.text).startswith(UNLINKED)
