"""The communication server with the storage service: customers by e-mail address,
call lists from a query. Both services run hosted, with the utility example's model."""
from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from caruso_core.testing.processes import free_port
from caruso_core.testing import eventually

MODEL = Path(__file__).resolve().parents[2] / "examples" / "utility" / "model.xml"


@pytest.fixture
def storage(caruso_host, caruso_client, tmp_path):
    caruso_host("storage", config={"model": str(MODEL), "db": f"sqlite:///{tmp_path / 'crm.db'}"})
    return caruso_client.get("caruso.storage/1")


def test_the_email_channel_finds_the_customer_in_the_storage_service(storage, caruso_host, caruso_client,
                                                                     tmp_path):
    customer = storage.create("Customer", {"customer_no": "K1", "name": "Jo Example", "email": "jo@example.org"})
    port = free_port()
    caruso_host("comm", config={
        "db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "mail", "channel": "email"}],
        "channels": {"email": {"queue": "mail", "address": "service@acme.test", "port": port,
                               "lookup": {"object": "Customer", "field": "email", "key": "id"}}}})
    comm = caruso_client.get("caruso.comm/1")
    for sender in ("jo@example.org", "stranger@example.org"):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, "service@acme.test", "Hello"
        message.set_content("Hi")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(message)
    waiting = eventually(lambda: len(comm.waiting("mail")) == 2 and comm.waiting("mail"))
    assert [(w["from"], w["customer"]) for w in waiting] == [
        ("jo@example.org", str(customer["id"])), ("stranger@example.org", None)]


def test_a_campaign_call_list_comes_from_a_storage_query(storage, caruso_host, caruso_client, tmp_path):
    for n, (city, phone) in enumerate([("Bonn", "+49228111"), ("Bonn", None), ("Köln", "+49221222"),
                                       ("Bonn", "+49228333")]):
        storage.create("Customer", {"customer_no": f"K{n}", "name": f"c{n}", "city": city, "phone": phone})
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "out"}]})
    comm = caruso_client.get("caruso.comm/1")
    summary = comm.add_campaign("bonn", "out", contacts_query={
        "object": "Customer", "where": {"field": "city", "op": "eq", "value": "Bonn"},
        "number": "phone", "customer": "id"})
    assert summary["contacts"] == {"pending": 2} and summary["skipped"] == 1


def test_ended_interactions_go_to_the_customers_contact_history(storage, caruso_host, caruso_client, tmp_path):
    customer = storage.create("Customer", {"customer_no": "K9", "name": "Ann Customer"})
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "q"}],
                                "contact_history": {"object": "Customer"}})
    comm = caruso_client.get("caruso.comm/1")
    comm.login("ann", {}, {"voice": 1})
    call = comm.arrive("q", customer=str(customer["id"]), from_="+4930999")["id"]
    comm.accept("ann", call)
    comm.complete("ann", call, "address changed")
    comm.abandon(comm.arrive("q")["id"])
    entries = eventually(lambda: storage.contact_history("Customer", customer["id"]))
    assert [(e["channel"], e["direction"], e["agent"], e["reference"]) for e in entries] == [
        ("voice", "inbound", "ann", call)]
    assert entries[0]["summary"] == "completed in queue q: address changed"


def test_an_interaction_closed_at_a_cold_start_goes_to_the_customers_contact_history(
        storage, caruso_host, caruso_client, tmp_path):
    customer = storage.create("Customer", {"customer_no": "K8", "name": "Bo Customer"})
    config = {"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "q"}],
              "contact_history": {"object": "Customer"}}
    first = caruso_host("comm", config=config)
    comm = caruso_client.get("caruso.comm/1")
    comm.login("ann", {}, {"voice": 1})
    call = comm.arrive("q", customer=str(customer["id"]))["id"]
    comm.accept("ann", call)
    first.stop()                                   # no hand-over: the call is left open
    caruso_host("comm", config=config)
    entries = eventually(lambda: storage.contact_history("Customer", customer["id"]))
    assert [(e["channel"], e["direction"], e["agent"], e["reference"], e["summary"]) for e in entries] == [
        ("voice", "inbound", "ann", call, "completed in queue q: restart")]


OPTED_OUT_OF_CALLS = {"object": "Consent", "customer": "customer_id",
                      "where": {"and": [{"field": "channel", "op": "eq", "value": "phone"},
                                        {"field": "opted_in", "op": "eq", "value": False}]}}


def test_a_campaign_call_list_never_holds_a_customer_who_opted_out(storage, caruso_host, caruso_client, tmp_path):
    customers = [storage.create("Customer", {"customer_no": f"K{n}", "name": f"c{n}", "city": "Delft",
                                             "phone": f"+3115000{n}"}) for n in range(4)]
    for customer, channel, opted_in in [(customers[0], "phone", False), (customers[1], "email", False),
                                        (customers[2], "phone", True)]:
        storage.create("Consent", {"customer_id": customer["id"], "channel": channel, "opted_in": opted_in,
                                   "source": "web form"})
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "out"}],
                                "opt_outs": OPTED_OUT_OF_CALLS})
    comm = caruso_client.get("caruso.comm/1")
    by_query = comm.add_campaign("retention", "out", contacts_query={
        "object": "Customer", "where": {"field": "city", "op": "eq", "value": "Delft"}})
    assert by_query["contacts"] == {"pending": 3} and by_query["opted_out"] == 1
    call_list = "number,customer\n" + "".join(f"{c['phone']},{c['id']}\n" for c in customers) + "+31150999,\n"
    by_file = comm.add_campaign("winback", "out", contacts_csv=call_list)
    assert by_file["contacts"] == {"pending": 4} and by_file["opted_out"] == 1
    storage.update("Consent", storage.query("Consent")[0]["id"], {"opted_in": True})
    assert comm.add_campaign("again", "out", contacts_csv=call_list)["opted_out"] == 0


def test_a_call_list_of_another_object_has_no_customers_unless_a_field_names_them(
        storage, caruso_host, caruso_client, tmp_path):
    """A campaign calling leads: lead 1 is not customer 1 (who opted out of calls), so no lead
    is left out, nor filed as customer 1's, unless ``customer`` names the lead's customer."""
    opted_out = storage.create("Customer", {"customer_no": "K1", "name": "Opted out", "phone": "+31150001"})
    storage.create("Consent", {"customer_id": opted_out["id"], "channel": "phone", "opted_in": False,
                               "source": "call"})
    leads = [storage.create("Lead", {"name": f"lead {n}", "phone": f"+3115100{n}"}) for n in range(2)]
    assert leads[0]["id"] == opted_out["id"]
    storage.update("Lead", leads[1]["id"], {"customer_id": opted_out["id"]})
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "out"}],
                                "opt_outs": OPTED_OUT_OF_CALLS})
    comm = caruso_client.get("caruso.comm/1")
    by_lead = comm.add_campaign("leads", "out", contacts_query={"object": "Lead"})
    assert by_lead["contacts"] == {"pending": 2} and by_lead["opted_out"] == 0
    by_customer = comm.add_campaign("converted", "out", contacts_query={"object": "Lead", "customer": "customer_id"})
    assert by_customer["contacts"] == {"pending": 1} and by_customer["opted_out"] == 1


def test_a_running_campaign_skips_a_customer_who_opts_out_after_the_list_was_made(
        storage, caruso_host, caruso_client, tmp_path):
    keeps, leaves = [storage.create("Customer", {"customer_no": f"R{n}", "name": f"r{n}", "phone": f"+3115111{n}"})
                     for n in range(2)]
    caruso_host("comm", config={"db": f"sqlite:///{tmp_path / 'comm.db'}", "queues": [{"name": "out"}],
                                "opt_outs": {**OPTED_OUT_OF_CALLS, "every": 0.2}})
    comm = caruso_client.get("caruso.comm/1")
    call_list = "number,customer\n" + "".join(f"{c['phone']},{c['id']}\n" for c in (keeps, leaves))
    assert comm.add_campaign("spring", "out", contacts_csv=call_list, pacing="progressive",
                             dialer={"answer_rate": 1.0, "ring": 0.05})["opted_out"] == 0
    storage.create("Consent", {"customer_id": leaves["id"], "channel": "phone", "opted_in": False,
                               "source": "call"})
    eventually(lambda: comm.campaign("spring")["opt_outs"] == 1)          # the opt-outs were read since
    comm.login("ann", {}, {"voice": 1})
    comm.campaign("spring", "start")
    summary = eventually(lambda: (s := comm.campaign("spring"))["contacts"].get("pending", 0) == 0 and s)
    assert summary["contacts"].get("opted_out") == 1
    skipped = [e for e in comm.events(0, 0)["events"] if e["event"] == "opt_out_skip"]
    assert [e["data"]["number"] for e in skipped] == [leaves["phone"].replace(" ", "")]
