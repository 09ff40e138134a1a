"""The moving-house script through the agent API, web self-service (HTTP) and IVR (digits), on real services.

A manager, the storage service (with the utility vertical's model) and the script
engine run as processes; e-mail goes through the engine's outbox to a real SMTP server
on 127.0.0.1. Each runner
takes the same path and must reach the same outcome with the same actions and records.
"""
import datetime
import functools
import re
from pathlib import Path

import httpx
import pytest

from caruso_core.testing.waiting import eventually
from caruso_scripts.web import create_app

MODEL = Path(__file__).resolve().parents[2] / "examples" / "utility" / "model.xml"


@pytest.fixture
def services(caruso_host, caruso_client, smtp_server, examples, tmp_path):
    host, port, mailbox = smtp_server.host, smtp_server.port, smtp_server
    caruso_host("storage", config={"model": str(MODEL), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    caruso_host("scripts", config={"scripts": [str(examples)], "db": f"sqlite:///{tmp_path / 'scripts.db'}",
                                   "settings": {"smtp_host": host, "smtp_port": port}})
    storage = caruso_client.get("caruso.storage/1")
    customer = storage.create("Customer", {"customer_no": "C-1", "name": "Ann Smith", "email": "ann@example.org",
                                           "city": "Springfield"})
    connection = storage.create("Connection", {"ean": "871234567890123456", "customer_id": customer["id"],
                                               "commodity": "electricity", "street": "Evergreen Terrace",
                                               "house_no": "742", "postcode": "1234 AB", "city": "Springfield"})
    storage.create("Meter", {"meter_no": "E-4711", "connection_id": connection["id"]})
    return caruso_client.get("caruso.scripts/1"), storage, customer["id"], mailbox


@functools.cache
def path_answers():
    """The moving dates every runner answers: the same for all three, even across midnight."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    move_out, move_in = today + datetime.timedelta(days=10), today + datetime.timedelta(days=12)
    return move_out, move_in


def run_agent(engine, customer_id):
    move_out, move_in = path_answers()
    view = engine.begin("moving_house", {"customer_id": customer_id})
    assert view["step"]["text"] == ("Hello Ann Smith. We will help you with your move from Evergreen Terrace 742 "
                                    "in Springfield.")
    for answer in (None, move_out.isoformat(), True, False, "5432", move_in.isoformat(), True):
        view = engine.answer(view["session"], answer, view["seq"])
    return view["session"]


def run_web(base, customer_id_header):
    move_out, move_in = path_answers()
    # the identity goes with every request (as a portal's sign-in would): a dialog continues
    # only with the context it was started with
    with httpx.Client(base_url=base, follow_redirects=True, timeout=30, headers=customer_id_header) as web:
        listing = web.get("/")
        assert "Moving house" in listing.text and "Outage report" not in listing.text
        page = web.post("/start/moving_house")
        session = page.url.path.rsplit("/", 1)[1]
        for answer in (None, move_out.isoformat(), "yes", "no", "5432", move_in.isoformat(), "yes"):
            seq = re.search(r'name="seq" value="(\d+)"', page.text).group(1)
            data = {"seq": seq} if answer is None else {"seq": seq, "answer": answer}
            page = web.post(f"/s/{session}", data=data)
            assert page.status_code == 200, page.text
        assert "Done: your supply moves with you on" in page.text
    return session


def run_ivr(engine, customer_id):
    """The IVR runner over the wire: the service's ivr_begin and ivr_press."""
    move_out, move_in = path_answers()
    turn = engine.ivr_begin("moving_house", {"customer_id": customer_id})
    assert turn["prompt"].startswith("Hello Ann Smith. We will help you with your move from Evergreen Terrace 742 in "
                                     "Springfield. On which day do you move out?")
    for keys in (move_out.strftime("%Y%m%d#"), "1", "2", "5432#", move_in.strftime("%Y%m%d#"), "1"):
        assert not turn["done"]
        turn = engine.ivr_press(turn["session"], keys)
    assert turn["done"] and turn["prompt"].startswith("Done: your supply moves with you on")
    return turn["session"]


def test_the_same_script_through_agent_web_and_ivr(services, serve_app):
    engine, storage, customer_id, mailbox = services
    app = create_app(engine, published=["moving_house", "meter_reading"],
                     context=lambda request: {"customer_id": int(request.headers["x-customer"])})
    base = serve_app(app)
    sessions = [run_agent(engine, customer_id), run_web(base, {"x-customer": str(customer_id)}),
                run_ivr(engine, customer_id)]
    views = [engine.current(session) for session in sessions]
    assert {v["outcome"] for v in views} == {"moved"}
    assert {tuple(a["name"] for a in v["actions"]) for v in views} == {("store", "store", "store", "email", "contact")}
    assert len({repr([a["params"] for a in v["actions"]]) for v in views}) == 1
    assert {repr(v["answers"]) for v in views} == {repr(views[0]["answers"])}
    orders = storage.query("ServiceOrder", order_by=["id"])
    assert [o["kind"] for o in orders] == ["move-out", "move-in"] * 3
    assert {o["notes"] for o in orders if o["kind"] == "move-out"} == {"Moving to postcode 5432; moving fee 25.00"}
    assert len(storage.query("Task", {"field": "assignee", "op": "eq", "value": "moving"})) == 3   # the model's rule
    assert storage.query("Connection")[0]["status"] == "moving"
    assert len(storage.contact_history("Customer", customer_id)) == 3
    outbox = engine.mail_outbox()                    # one reading: its sender may send one meanwhile
    assert outbox["queued"] + outbox["sent"] == 3
    delivered = eventually(lambda: mailbox.messages, lambda messages: len(messages) == 3, what="three messages")
    assert [m["To"] for m in delivered] == ["ann@example.org"] * 3


def test_meter_reading_is_stored_with_the_previous_reading(services):
    engine, storage, customer_id, _ = services
    meter = storage.query("Meter")[0]
    storage.create("MeterReading", {"meter_id": meter["id"], "read_on": "2025-01-10", "normal": "12000.0"})
    before = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    view = engine.begin("meter_reading", {"customer_id": customer_id})
    assert view["step"]["text"] == ("Please enter the reading of meter E-4711 (normal tariff; "
                                    "last reading: 12000.0).")
    for answer in ("12345", "yes"):
        view = engine.answer(view["session"], answer, view["seq"])
    assert view["outcome"] == "recorded" and view["variables"] == {"consumption": "345.0"}
    latest = storage.query("MeterReading", order_by=["-read_on"], limit=1)[0]
    assert (latest["normal"], latest["previous"], latest["source"]) == ("12345.0", "12000.0", "customer")
    after = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert latest["read_on"] in {before, after}                   # the day it was read (midnight may pass)


def test_validate_checks_fields_against_the_storage_model(services, examples, script_file):
    from click.testing import CliRunner

    from caruso_core.cli import cli
    good = CliRunner().invoke(cli, ["script", "validate", "--storage", str(examples / "moving-house.xml")],
                              standalone_mode=False)
    assert good.exception is None and good.output.endswith("moving-house.xml: valid\n")
    bad = script_file('<bind name="customer" object="Customer" key="1"/><bind name="gadget" object="Gadget" key="1"/>'
                      '<info id="i"><text>{customer.nickname}</text><go to="e"/></info><end id="e" outcome="x"/>')
    result = CliRunner().invoke(cli, ["script", "validate", "--storage", str(bad)], standalone_mode=False)
    assert f"{bad}:3: binding 'gadget': object 'Gadget' is not in the model" in result.output
    assert f"{bad}:3: 'customer.nickname': Customer has no attribute 'nickname'" in result.output
    assert str(result.exception) == "2 problem(s) in 1 file(s)"
