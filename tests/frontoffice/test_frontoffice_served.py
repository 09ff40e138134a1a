"""The front office served by its service against a real manager and a storage over Pyro5."""
import logging
import re

import httpx
import pytest
from starlette.testclient import TestClient

from caruso_core import connect, credentials
from caruso_core.deployment import default
from caruso_core.errors import ConfigError
from caruso_frontoffice.app import create_app
from caruso_frontoffice.database import open_database, users
from caruso_frontoffice.passwords import Cost, Passwords
from caruso_frontoffice.service import FrontOffice
from frontoffice_support import PASSWORDS, add_users, csrf_of, make_context, sign_in, stored_hash


def test_the_default_deployment_includes_the_front_office():
    assert "frontoffice" in [entry.key for entry in default().services]


def test_served_by_the_host_with_health_and_address(front_office, caruso_client, caruso_host):
    assert front_office.startswith("http://127.0.0.1:")
    [entry] = [row for row in caruso_client.health() if row["name"] == "frontoffice"]
    assert entry["health"]["status"] == "ok" and entry["health"]["url"] == front_office
    with httpx.Client(base_url=front_office, timeout=30) as web:
        assert web.get("/static/style.css").status_code == 200
        assert sign_in(web, "ada").status_code == 303
        home = web.get("/")
        assert "Welcome, ada" in home.text and "strict-transport-security" not in home.headers   # plain http


def test_the_served_front_office_hashes_at_the_owasp_cost_and_rehashes_older_hashes_at_sign_in(
        caruso_host, caruso_client, tmp_path):
    db = f"sqlite:///{tmp_path / 'owasp.db'}"
    add_users(db)
    caruso_host("frontoffice", config={"address": "http://127.0.0.1:0", "db": db})     # no password_cost
    front_office = caruso_client.get("frontoffice").url()
    with open_database(db).begin() as connection:       # sam's hash from an earlier version
        connection.execute(users.update().where(users.c.name == "sam").values(
            password=Passwords(Cost(n=2 ** 14)).hash(PASSWORDS["sam"])))
    assert stored_hash(db, "ada").startswith("scrypt$1024$8$1$")                # made cheaply by the test
    with httpx.Client(base_url=front_office, timeout=30) as web:
        assert sign_in(web, "ada", "wrong-password-1").status_code == 401
        assert stored_hash(db, "ada").startswith("scrypt$1024$8$1$")            # a failed sign-in changes nothing
        assert sign_in(web, "ada").status_code == 303
        assert sign_in(web, "sam").status_code == 303
    for name in ("ada", "sam"):
        assert stored_hash(db, name).startswith("scrypt$131072$8$1$")           # the production cost, N=2^17
    with httpx.Client(base_url=front_office, timeout=30) as web:
        assert sign_in(web, "sam").status_code == 303                  # and the new hash verifies


def test_a_deployment_sets_the_password_cost_a_lower_one_is_logged_and_a_bad_one_refused(
        caruso_host, caruso_client, tmp_path, caplog):
    db = f"sqlite:///{tmp_path / 'cost.db'}"
    add_users(db)                                                      # at n=2^10
    with caplog.at_level(logging.WARNING, logger="caruso_frontoffice.service"):
        caruso_host("frontoffice", config={"address": "http://127.0.0.1:0", "db": db, "password_cost": {"n": 2 ** 12}})
    assert "password_cost {'n': 4096} is below OWASP's advice" in caplog.text
    with httpx.Client(base_url=caruso_client.get("frontoffice").url(), timeout=30) as web:
        assert sign_in(web, "ada").status_code == 303
    assert stored_hash(db, "ada").startswith("scrypt$4096$8$1$")           # hashed again at the set cost
    caplog.clear()
    FrontOffice(address="http://127.0.0.1:0", db=db, password_cost={"n": 2 ** 17, "r": 16}).stop()
    assert "password_cost" not in caplog.text                          # higher than the advice: not logged
    for bad in ({"n": 1000}, {"n": 2 ** 9}, {"n": 2 ** 21}, {"r": 0}, {"r": 33}, {"p": 17}, {"salt": 1},
                {"n": "many"}, {"n": True}, [2 ** 17]):
        with pytest.raises(ConfigError, match=r"^frontoffice password_cost .*(must be|power of two)"):
            FrontOffice(db=db, password_cost=bad)


def test_a_busy_port_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path))
    first = FrontOffice(address="http://127.0.0.1:0")
    first.start()
    try:
        second = FrontOffice(address=first.url())
        with pytest.raises(ConfigError, match="Address already in use"):
            second.start()
    finally:
        first.stop()
    with pytest.raises(ConfigError, match="set certfile and keyfile"):
        FrontOffice(address="https://127.0.0.1:8443")
    with pytest.raises(ConfigError, match="must look like"):
        FrontOffice(address="ftp://x")
    with pytest.raises(ConfigError, match="session_hours must be a positive number"):
        FrontOffice(session_hours=0)
    for limit in (0, True, 2.5):
        with pytest.raises(ConfigError, match="portal_searches must be a positive whole number"):
            FrontOffice(portal_searches=limit)
    with pytest.raises(ConfigError, match="views 'absent.xml': no such file"):
        FrontOffice(views="absent.xml")


def test_list_detail_360_and_form_pages_over_the_storage(front_office, storage):
    storage.add_contact("Customer", 1, {"channel": "phone", "summary": "asked for a <b>discount</b>", "agent": "ada"})
    storage.create("Customer", {"name": "<script>alert(1)</script>", "segment": "private"})
    with httpx.Client(base_url=front_office, timeout=30) as web:
        sign_in(web, "ada")
        listing = web.get("/views/customers")
        assert listing.status_code == 200 and "3 found" in listing.text
        assert "Acme Utilities" in listing.text and "+49 30" not in listing.text   # agents do not see phones
        assert "<script>alert(1)</script>" not in listing.text and "&lt;script&gt;" in listing.text
        found = web.get("/views/customers", params={"q": "acme"})
        assert "1 found" in found.text and "Berta" not in found.text
        probe = web.get("/views/customers", params={"q": "1234567"})   # phones are not searched for agents
        assert "0 found" in probe.text
        filtered = web.get("/views/customers", params={"f.segment": "private"})
        assert "2 found" in filtered.text and "Acme" not in filtered.text
        inactive = web.get("/views/customers", params={"f.active": "no"})
        assert "1 found" in inactive.text and "Berta" in inactive.text
        wrong_filter = web.get("/views/customers", params={"f.segment": "bogus"})
        assert "choose one of private, business, public" in wrong_filter.text
        full = web.get("/views/customer-360/show", params={"id": "1"})
        assert full.status_code == 200
        for text in ("Carl Meier", "facility manager", "Smart meters", "42\u202f000.00", "Green tariff"):
            assert text in full.text                                                   # related objects
        assert "asked for a &lt;b&gt;discount&lt;/b&gt;" in full.text                 # contact history
        assert "+49 30" not in full.text                                               # field roles
        assert web.get("/views/customer-360/show", params={"id": "x"}).status_code == 400
        assert web.get("/views/customer-360/show", params={"id": "99"}).status_code == 404
        assert web.get("/views/nope").status_code == 404

        edit = web.get("/views/customer-edit/edit", params={"id": "2"})
        assert edit.status_code == 200 and 'name="phone"' not in edit.text and 'name="id"' not in edit.text
        csrf, version = csrf_of(edit.text), "1"
        bad = web.post("/views/customer-edit/edit?id=2", data={
            "csrf": csrf, "_version": version, "name": "B" * 121, "email": "nope", "city": "x" * 41,
            "created": "yesterday"})
        assert bad.status_code == 400
        for field, message in (("name", "At most 120 characters"), ("email", "An e-mail address"),
                               ("city", "At most 40"), ("created", "A date and time")):   # each beside its field
            assert re.search(rf'name="{field}"[^>]*>\s*<span class="field-error" role="alert">{message}', bad.text)
        sneaky = web.post("/views/customer-edit/edit?id=2", data={
            "csrf": csrf, "_version": version, "name": "Berta B.", "phone": "+1 555 0100", "id": "7",
            "segment": "private"}, follow_redirects=False)
        assert sneaky.status_code == 303 and sneaky.headers["location"] == "/views/customer/show?id=2"
        record = storage.get("Customer", 2)
        assert record["name"] == "Berta B." and record["phone"] is None and record["active"] is False
        stale = web.post("/views/customer-edit/edit?id=2", data={"csrf": csrf, "_version": version, "name": "Late"})
        assert stale.status_code == 409 and "was saved by someone else while you were editing it" in stale.text
        assert 'name="_version" value="2"' in stale.text and 'value="Late"' in stale.text   # saves on the new one
        for token in ("[1]", "", "null"):
            damaged = web.post("/views/customer-edit/edit?id=2", data={"csrf": csrf, "_version": token, "name": "X"})
            assert damaged.status_code == 400 and "The form is damaged" in damaged.text
        assert storage.get("Customer", 2)["name"] == "Berta B."
        no_csrf = web.post("/views/customer-edit/new", data={"name": "Nobody"})
        assert no_csrf.status_code == 403
        new = web.get("/views/customer-edit/new")
        assert '<option value="business" selected>business</option>' in new.text                      # model defaults
        created = web.post("/views/customer-edit/new", data={"csrf": csrf, "name": "Carla", "active": "on",
                                                             "segment": "public"}, follow_redirects=False)
        assert created.status_code == 303 and created.headers["location"] == "/views/customer/show?id=4"
        assert storage.get("Customer", 4)["segment"] == "public"
        assert storage.count("Customer") == 4


def test_pages_say_when_the_storage_is_missing(tmp_path, caruso_manager):
    context = make_context(tmp_path, caruso_manager.uri)
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "ada")
        page = web.get("/views/customers")
        assert page.status_code == 503 and "storage service is not available" in page.text


def test_admin_sees_services_and_swaps_and_rolls_back(tmp_path, caruso_manager, caruso_host, caruso_client):
    first = caruso_host("storage", version="1.0.0")
    second = caruso_host("storage", version="1.1.0", standby=True)
    operator = credentials.operator_secret()
    context = make_context(tmp_path, caruso_manager.uri)
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "root")
        page = web.get("/admin/services")
        assert page.status_code == 200
        for text in (first.instance_id, second.instance_id, "caruso.storage/1", "1.1.0", "standby", ">ok<",
                     ">Activate</button>", 'name="operator_secret"'):
            assert text in page.text
        csrf = csrf_of(page.text)
        swapped = web.post("/admin/services/swap", data={"csrf": csrf, "name": "storage", "operator_secret": operator,
                                                         "instance_id": second.instance_id}, follow_redirects=False)
        assert swapped.status_code == 303 and swapped.headers["location"] == "/admin/services"
        swapped = web.get("/admin/services")
        assert f"{second.instance_id} (version 1.1.0) is active; {first.instance_id} is standing by" in swapped.text
        assert "is standing by" not in web.get("/admin/services").text      # the notice is shown once
        assert ">Roll back</button>" in swapped.text and ">Activate</button>" not in swapped.text
        assert operator not in swapped.text
        assert caruso_client.lookup("storage")[0]["instance_id"] == second.instance_id
        sign_in(web, "ada")
        assert "0 found" in web.get("/views/customers").text        # pages follow the swapped-in storage
        sign_in(web, "root")
        csrf = csrf_of(web.get("/admin/services").text)
        back = web.post("/admin/services/swap", data={"csrf": csrf, "name": "storage", "operator_secret": operator,
                                                      "instance_id": first.instance_id})
        assert f"{first.instance_id} (version 1.0.0) is active" in back.text
        assert caruso_client.lookup("storage")[0]["instance_id"] == first.instance_id
        failed = web.post("/admin/services/swap", data={"csrf": csrf, "name": "storage", "operator_secret": operator,
                                                        "instance_id": "ghost-1"})
        assert failed.status_code == 409 and "Swap of storage failed: no instance &#39;ghost-1&#39;" in failed.text
        for name, instance in (("x" * 5000, second.instance_id), ("", second.instance_id), ("storage\n", ""),
                               ("storage", ""),
                               ("storage", "storage-1<script>"), ("storage", "9" * 5000)):     # a tampered form
            tampered = web.post("/admin/services/swap", data={"csrf": csrf, "name": name, "operator_secret": operator,
                                                              "instance_id": instance})
            assert tampered.status_code == 400 and "named no service or instance of this deployment" in tampered.text
            assert "x" * 100 not in tampered.text and "9" * 100 not in tampered.text and "<script>" not in tampered.text
        assert caruso_client.lookup("storage")[0]["instance_id"] == first.instance_id
        for forged in ("ü", "\u2603" * 40, operator + "é"):          # compared as text of any characters
            refused = web.post("/admin/services/swap", data={"csrf": csrf, "name": "storage", "operator_secret": forged,
                                                             "instance_id": second.instance_id})
            assert refused.status_code == 403 and "operator secret" in refused.text
        assert web.post("/admin/services/swap", data={"name": "storage", "operator_secret": operator,
                                                      "instance_id": second.instance_id}).status_code == 403
        sign_in(web, "sam")
        assert web.post("/admin/services/swap", data={"csrf": csrf_of(web.get("/").text), "name": "storage",
                                                      "operator_secret": operator,
                                                      "instance_id": second.instance_id}).status_code == 403
    assert caruso_client.lookup("storage")[0]["instance_id"] == first.instance_id


def test_a_swap_from_the_front_office_needs_the_operator_secret_typed_in(tmp_path, caruso_manager, caruso_host):
    """The front office holds no operator secret: it passes on the one an operator types."""
    caruso_host("storage")
    standby = caruso_host("storage", standby=True)
    context = make_context(tmp_path, caruso_manager.uri)
    assert context.client.operator_secret is None
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "root")
        for typed, message in (("", "A swap needs the operator secret: type it in the field next to the button."),
                               ("guess", "The manager refused the swap: the operator secret is wrong.")):
            refused = web.post("/admin/services/swap", data={"csrf": csrf_of(web.get("/admin/services").text),
                                                             "name": "storage", "operator_secret": typed,
                                                             "instance_id": standby.instance_id})
            assert refused.status_code == 403 and message in refused.text
    assert connect(caruso_manager.uri).lookup("storage")[0]["instance_id"] != standby.instance_id


def test_admin_page_reports_an_unreachable_manager(tmp_path):
    context = make_context(tmp_path)
    with TestClient(create_app(context), base_url="http://testserver") as web:
        sign_in(web, "root")
        page = web.get("/admin/services")
        assert page.status_code == 200 and "The service manager did not answer" in page.text
