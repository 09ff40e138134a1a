"""The Users page adds a customer account only for a customer the storage service holds:
an unknown attribute, a customer that does not exist, a key naming several or a storage
service that does not answer refuse the add, and the form comes back with what it gave."""
from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from caruso_frontoffice.app import create_app
from frontoffice_support import csrf_of, make_context, sign_in


@pytest.fixture
def admin(tmp_path, caruso_manager, storage):
    context = make_context(tmp_path, caruso_manager.uri)
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "root")
        yield web, context


def _add(web: TestClient, customer: str, name: str = "cora", role: str = "customer"):
    csrf = csrf_of(web.get("/admin/users").text)
    return web.post("/admin/users", data={"csrf": csrf, "name": name, "role": role, "password": "cora-secret-1",
                                          "customer": customer})


def _error(page: str) -> str:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    assert found, page[:500]
    return html.unescape(found.group(1))


def _form(page: str) -> tuple[str, str | None, str]:
    """The add form's name, selected role and customer key."""
    form = page[page.index('action="/admin/users" class="inline"'):]
    name = re.search(r'<input name="name" value="([^"]*)"', form).group(1)
    role = re.search(r"<option selected>(\w+)</option>", form)
    key = re.search(r'<input name="customer" value="([^"]*)"', form).group(1)
    return html.unescape(name), role and role.group(1), html.unescape(key)


def test_a_customer_account_needs_a_customer_the_storage_holds(admin, storage):
    web, context = admin
    for key, message in [
            ("customer_id=999999", "customer key customer_id=999999: there is no such customer "
                                   "(no Customer with id=999999)"),
            ("cust=abc", "customer key cust=abc: Customer has no attribute 'cust' (use customer_id or one of id, "),
            ("customer_id=1, town=Berlin", "Customer has no attribute 'town'"),
            ("customer_id=abc", "customer key customer_id=abc: id: 'abc' is not a valid integer"),
            ("customer_id=" + "9" * 23, f"customer key customer_id={'9' * 23}: id: '{'9' * 23}' is out of range"),
            ("customer_id=1, customer_id=2", "customer key 'customer_id=1, customer_id=2': customer_id is named "
                                             "twice; name each attribute once"),
            ("customer_id=1, city=Bonn", "(no Customer with id=1 and city=Bonn)")]:     # Acme is in Berlin
        refused = _add(web, key)
        assert refused.status_code == 400 and message in _error(refused.text), (key, _error(refused.text))
        assert "\n" not in _error(refused.text)
        assert _form(refused.text) == ("cora", "customer", key)           # everything given, but the password
    storage.create("Customer", {"name": "Acme North", "city": "Berlin"})
    several = _add(web, "city=Berlin")
    assert several.status_code == 400 and "several customers have it" in _error(several.text)
    assert [user.name for user in context.accounts.all()] == ["ada", "root", "sam"]       # nothing was added
    acme = storage.query("Customer", {"field": "name", "op": "eq", "value": "Acme Utilities"})[0]
    added = _add(web, f"customer_id={acme['id']}, city=Berlin")
    assert added.status_code == 200 and "User cora (customer) added." in added.text
    assert _form(added.text) == ("", None, "")                           # a fresh form after an add
    assert f"customer_id={acme['id']}, city=Berlin" in added.text
    assert context.accounts.authenticate("cora", "cora-secret-1").customer == {"customer_id": acme["id"],
                                                                              "city": "Berlin"}
    by_email = _add(web, "email=berta@example.org", name="berta")           # any attribute naming one customer
    assert by_email.status_code == 200 and "User berta (customer) added." in by_email.text


def test_attack_keys_are_refused_cut_and_escaped(admin):
    web, context = admin
    huge = "customer_id=" + "9" * 20_000
    refused = _add(web, huge)
    assert refused.status_code == 400 and _error(refused.text) == "a customer key has at most 400 characters"
    assert _form(refused.text)[2] == huge[:400] and "9" * 401 not in refused.text
    markup = 'customer_id=1"><script>alert(1)</script>'
    refused = _add(web, markup, name="<b>eve</b>")
    assert refused.status_code == 400 and "<script>" not in refused.text and "<b>eve" not in refused.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in refused.text
    assert _form(refused.text) == ("<b>eve</b>", "customer", markup)   # given back, escaped in the field
    injected = _add(web, "customer_id=1, name=x", role="admin")
    assert injected.status_code == 400 and "only a customer account has one" in _error(injected.text)
    assert _form(injected.text) == ("cora", "admin", "customer_id=1, name=x")
    assert [user.name for user in context.accounts.all()] == ["ada", "root", "sam"]


def test_without_the_storage_service_no_customer_account_is_added(web, context):
    sign_in(web, "root")
    refused = _add(web, "customer_id=1")
    assert refused.status_code == 503
    error = _error(refused.text)
    assert error.startswith("the customer key could not be checked, the storage service did not answer (")
    assert error.endswith("nobody was added, try again when it runs") and "\n" not in error
    assert _form(refused.text) == ("cora", "customer", "customer_id=1")
    staff = _add(web, "", name="kim", role="agent")                      # staff accounts need no storage
    assert staff.status_code == 200 and "User kim (agent) added." in staff.text
    assert [user.name for user in context.accounts.all()] == ["ada", "kim", "root", "sam"]
