"""The analytics layer of the verticals. A vertical's default deployment runs no analytics;
``VERTICAL-analytics`` adds the layer (Customer's results, the 360's Retention, the list's
segment filter, the analytics service with where that vertical's history lives). An existing
deployment switches it on with ``caruso model upgrade``, keeping its data; then training,
scoring and segmenting write the attributes that the customer list, the campaign target
"at risk" and the 360 use."""
from __future__ import annotations

import contextlib
import datetime
import json
import re
import tomllib
from typing import Any, Iterator

import httpx
import numpy as np
import pytest
import tomli_w
from sqlalchemy import create_engine, inspect

from caruso_analytics import synthetic
from caruso_analytics.history import KIND_CODES, KINDS, History
from caruso_analytics.source import checked, read as read_history
from caruso_core.testing.commands import caruso
from caruso_core.verticals import deployment_data
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.database import open_database
from caruso_frontoffice.passwords import Cost, Passwords
from caruso_storage.describe import describe_files
from caruso_storage.service import StorageManager

VERTICALS = ["utility", "bank", "service"]
QUICK_COST = {"n": 2 ** 10}                  # the front office's password_cost: scrypt at 1 ms a hash
RESULTS = ["left_on", "churn_risk", "churn_factors", "rfm_segment", "cluster"]


def services(name: str) -> dict[str, Any]:
    return deployment_data([name])["services"]


@pytest.mark.parametrize("name", VERTICALS)
def test_a_verticals_default_deployment_runs_no_analytics(name):
    plain = services(name)
    assert "analytics" not in plain
    assert not any("analytics" in path for path in plain["storage"]["config"]["model"])


def attributes_named(entry: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    named = [entry[field] for field in fields if entry.get(field)]
    where = entry.get("where")
    return named + ([where["field"]] if where else [])


@pytest.mark.parametrize("name", VERTICALS)
def test_the_layer_maps_what_the_verticals_model_holds_and_its_views_check(name, tmp_path):
    layered = services(f"{name}-analytics")
    objects = describe_files(layered["storage"]["config"]["model"])["objects"]
    assert set(RESULTS) <= set(objects["Customer"]["attributes"])
    source = checked(layered["analytics"]["config"]["source"])
    wanted = [(source["customers"]["object"], attributes_named(source["customers"], ("key", "joined", "left")))]
    wanted += [(entry["object"], attributes_named({"customer": "customer_id", **entry}, ("customer", "at", "value")))
               for entry in source["events"]]
    assert len(source["events"]) == 4     # the layer's three and the vertical's own
    for object_name, names in wanted:
        assert set(names) <= set(objects[object_name]["attributes"]), (object_name, names)
    deployment = tmp_path / "caruso.toml"
    deployment.write_text(tomli_w.dumps(deployment_data([f"{name}-analytics"])))
    checked_views = caruso("frontoffice", "views", "check", "--deployment", str(deployment))
    assert checked_views.returncode == 0 and checked_views.stdout.startswith("ok:"), checked_views.stderr


def test_the_bank_layer_reads_its_history_without_a_joining_date(tmp_path):
    """The bank records no joining date: its customers count from the first event on; its
    calls name their customer as text, its complaints by key."""
    layered = services("bank-analytics")
    storage = StorageManager(model=layered["storage"]["config"]["model"], db=f"sqlite:///{tmp_path / 'bank.db'}")
    try:
        ann, bob = (storage.create("Customer", {"customer_no": f"B-{n}", "name": name})["id"]
                    for n, name in enumerate(["Ann", "Bob"]))
        storage.update("Customer", bob, {"left_on": "2026-03-01"})
        for n, (customer, state, created) in enumerate([(ann, "completed", "2025-02-03T09:00:00"),
                                                        (bob, "abandoned", "2025-01-10T17:30:00"),
                                                        (None, "completed", "2024-06-01T08:00:00")]):
            storage.create("CommInteraction", {"id": f"call-{n}", "channel": "phone", "direction": "inbound",
                                               "queue": "banking", "state": state, "created": created,
                                               "customer": None if customer is None else str(customer)})
        storage.create("Complaint", {"customer_id": ann, "subject": "Fees", "received": "2025-05-01"})
        history = read_history(storage, checked(layered["analytics"]["config"]["source"]))
    finally:
        storage.stop()
    first = float(np.datetime64("2025-01-10T17:30:00", "s").astype(np.int64)) / 86400
    assert history.customer_ids.tolist() == [ann, bob] and history.joined.tolist() == [first, first]
    assert [(history.customer_ids[c], list(KINDS)[k]) for c, k in zip(history.events.customer, history.events.kind)] == [
        (bob, "failed_contact"), (ann, "contact"), (ann, "complaint")]     # the call of no customer left out
    assert np.isnan(history.left[0]) and history.left[1] == float(np.datetime64("2026-03-01", "D").astype(np.int64))


def upgraded(url: str) -> None:
    """`caruso model upgrade` of a utility deployment's database with the layer's model: the
    layer's columns are added, the customer made before stays."""
    options = [option for file in services("utility-analytics")["storage"]["config"]["model"]
               for option in ("--model", file)]
    result = caruso("model", "upgrade", *options, "--db", url)
    assert result.returncode == 0, result.stderr
    for column in RESULTS:
        assert f"  done: + column customer.{column}\n" in result.stdout
    engine = create_engine(url)
    try:
        assert set(RESULTS) <= {c["name"] for c in inspect(engine).get_columns("customer")}
    finally:
        engine.dispose()
    storage = StorageManager(model=services("utility-analytics")["storage"]["config"]["model"], db=url)
    try:
        ann = storage.get("Customer", 1)
        assert (ann["name"], ann["customer_no"], ann["churn_risk"], ann["rfm_segment"]) == ("Ann", "C-1", None, None)
    finally:
        storage.stop()


def test_caruso_init_copies_the_layers_files_after_the_verticals(tmp_path):
    made = caruso("init", str(tmp_path / "acme"), "--vertical", "utility-analytics")
    assert made.returncode == 0, made.stderr
    services = tomllib.loads((tmp_path / "acme" / "caruso.toml").read_text())["services"]
    assert services["storage"]["config"]["model"] == ["model.xml", "analytics/model.xml"]
    assert services["frontoffice"]["config"]["views"][-1] == "analytics/views"
    assert (tmp_path / "acme" / "analytics" / "views" / "analytics.xml").is_file()
    assert services["analytics"]["config"]["source"]["customers"]["joined"] == "since"


def existing_utility_database(url: str) -> None:
    storage = StorageManager(model=services("utility")["storage"]["config"]["model"], db=url)
    try:
        assert storage.create("Customer", {"customer_no": "C-1", "name": "Ann"})["id"] == 1
    finally:
        storage.stop()


@pytest.mark.postgres
def test_model_upgrade_adds_the_layers_columns_on_postgresql(postgres_database):
    existing_utility_database(postgres_database)
    upgraded(postgres_database)


def day(history: History, days: np.ndarray) -> list[str | None]:
    start = np.datetime64(history.origin)
    return [None if not np.isfinite(d) else str(start + np.timedelta64(int(d), "D")) for d in days]


def load_utility(storage: Any, history: History) -> None:
    """``history`` as the utility vertical holds it: customers 2.. (after Ann), their calls in
    the communication server's interactions, their invoices."""
    def apply(object: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), 20_000):
            storage.apply(json.dumps([{"op": "create", "object": object, "values": row}
                                      for row in rows[start:start + 20_000]]), "count")

    since, until = day(history, history.joined), day(history, history.left)
    apply("Customer", [{"customer_no": f"S-{n}", "name": f"customer {n}", "phone": f"+3120{n:07d}",
                        "since": since[n], "left_on": until[n]} for n in range(history.size)])
    events = history.events
    at, owner = day(history, events.time), (events.customer + 2).tolist()
    calls = np.flatnonzero(np.isin(events.kind, [KIND_CODES["contact"], KIND_CODES["failed_contact"]]))
    apply("CommInteraction", [{"id": f"call-{i}", "channel": "phone", "direction": "inbound", "queue": "billing",
                               "customer": str(owner[i]), "created": f"{at[i]}T10:00:00",
                               "state": "completed" if events.kind[i] == KIND_CODES["contact"] else "abandoned"}
                              for i in calls])
    apply("Invoice", [{"invoice_no": f"F-{i}", "customer_id": owner[i], "issued": at[i], "due": at[i],
                       "amount": f"{events.value[i]:.2f}", "status": "paid"}
                      for i in np.flatnonzero(events.kind == KIND_CODES["invoice"])])


@contextlib.contextmanager
def signed_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as web:
        csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/signin").text).group(1)
        assert web.post("/signin", data={"csrf": csrf, "name": "anna", "password": "anna-password-1"}).status_code == 200
        yield web


def test_an_existing_utility_deployment_switches_the_layer_on_and_uses_its_results(
        caruso_host, caruso_client, tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    existing_utility_database(url)
    upgraded(url)

    layered = services("utility-analytics")
    caruso_host("storage", config={**layered["storage"]["config"], "db": url})
    storage = caruso_client.get("caruso.storage/1")
    history = synthetic.generate(900, seed=2)
    history.origin = (datetime.date.today() - datetime.timedelta(days=int(history.now))).isoformat()
    load_utility(storage, history)
    source = checked(layered["analytics"]["config"]["source"])
    read = read_history(storage, source)     # the calls' customers, held as text, find their customers
    for kind in ("contact", "failed_contact", "invoice"):
        assert (read.events.kind == KIND_CODES[kind]).sum() == (history.events.kind == KIND_CODES[kind]).sum()
    origin = np.datetime64(history.origin, "D").astype(np.int64)
    assert read.joined[1:].tolist() == (np.trunc(history.joined) + origin).tolist()    # since
    caruso_host("analytics", config={**layered["analytics"]["config"], "retrain_every": 0,
                                     "models_file": str(tmp_path / "models.json")})
    analytics = caruso_client.get("caruso.analytics/1")

    trained = analytics.train()
    assert trained["version"] == 1 and trained["validation"]["customers"] > 0
    scored = analytics.score()
    assert scored["customers"] == 1 + int(np.isnan(history.left).sum())     # Ann and those who stayed
    segmented = analytics.segments("rfm")
    assert segmented["customers"] == scored["customers"]

    customers = storage.query("Customer", None, None, 2_000)
    active = [c for c in customers if c["left_on"] is None]
    assert all(c["churn_risk"] is not None and c["rfm_segment"] for c in active)
    assert all(c["churn_risk"] is None and c["rfm_segment"] is None for c in customers if c["left_on"])

    # the campaign target "at risk" selects exactly the scored customers from the threshold
    target = analytics.at_risk_target()
    assert target["where"] == {"field": "churn_risk", "op": "ge", "value": 0.2}
    chosen = {c["id"] for c in storage.query(target["object"], target["where"], None, 2_000)}
    expected = {c["id"] for c in active if c["churn_risk"] >= 0.2}
    assert chosen == expected and 0 < len(chosen) < len(active) == scored["customers"]
    assert scored["at_risk"] == len(chosen)
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "retention"}]})
    campaign = caruso_client.get("caruso.comm/1").add_campaign("at-risk", "retention", contacts_query=target)
    phoned = {c["id"] for c in active if c["churn_risk"] >= 0.2 and c["phone"]}    # Ann has no phone
    assert campaign["contacts"] == {"pending": len(phoned)} and campaign["skipped"] == len(chosen - phoned)

    db = f"sqlite:///{tmp_path / 'frontoffice.db'}"
    Accounts(open_database(db), Passwords(Cost(**QUICK_COST))).add("anna", "agent", "anna-password-1")
    caruso_host("frontoffice", config={"password_cost": QUICK_COST, "address": "http://127.0.0.1:0", "db": db,
                                       "views": layered["frontoffice"]["config"]["views"]})
    riskiest = max(active, key=lambda c: c["churn_risk"])
    others = [c for c in active if c["rfm_segment"] != riskiest["rfm_segment"]]
    with signed_in(caruso_client.get("frontoffice").url()) as agent:
        # the customer list filters by segment
        segment = riskiest["rfm_segment"]
        listed = agent.get("/views/customers", params={"q": riskiest["customer_no"], "f.rfm_segment": segment})
        assert listed.status_code == 200 and f">{riskiest['name']}<" in listed.text
        other = others[0]
        listed = agent.get("/views/customers", params={"q": other["customer_no"], "f.rfm_segment": segment})
        assert listed.status_code == 200 and f">{other['name']}<" not in listed.text
        whole = agent.get("/views/customers", params={"f.rfm_segment": segment}).text
        assert f">{other['name']}<" not in whole
        # the 360 shows Retention: the risk as a percentage and the factors
        page = agent.get("/views/customer-360/show", params={"id": riskiest["id"]})
        assert page.status_code == 200 and "Retention" in page.text
        assert f"{riskiest['churn_risk']:.1%}" in page.text
        assert riskiest["churn_factors"] and riskiest["churn_factors"] in page.text
