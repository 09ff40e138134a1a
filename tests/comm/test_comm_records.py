"""Queues, agents and interactions written behind to a real storage manager (the model
module ``comm``), on SQLite and PostgreSQL; the ACD runs on a virtual clock."""
from __future__ import annotations

import json

import pytest

from caruso_core.errors import NotFound

from caruso_comm.campaign import Campaign, Contact, Retry
from caruso_comm.dialers.sim import SimDialer
from caruso_comm.handover import DEACTIVATE, EXPORT, RESUME, HandOver
from caruso_comm.model import Escalation, Queue
from caruso_comm.records import CommRecords, stored_campaign, stored_voicemail
from caruso_comm.voicemail import VoicemailBox
from caruso_storage.service import StorageManager

MODEL = '<model name="crm"><include module="comm"/></model>'


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    model = tmp_path / "crm.xml"
    model.write_text(MODEL)
    url = (f"sqlite:///{tmp_path / 'crm.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_database"))
    manager = StorageManager(model=str(model), db=url)
    yield manager
    manager.stop()


@pytest.fixture
def records(desk, storage):
    return CommRecords(desk.acd, lambda: storage, batch=3)


def _observe(desk, records):
    desk.acd.sink = lambda event: (desk.events.append(event), records.observe(event))


def test_interactions_agents_and_queues_are_written_with_their_latest_state(desk, records, storage):
    _observe(desk, records)
    sales = Queue("sales", strategy="skills_based", skills={"sales": 2}, max_wait=600,
                  escalation=[Escalation(after=30, skills={"sales": 1})])
    desk.acd.add_queue(sales)
    records.changed_queue(sales)
    desk.acd.login("ann", {"sales": 3}, {"voice": 1})
    desk.clock.now = 1_800_000_000.0
    desk.acd.arrive("sales", id="c1", customer="K1", from_="+3130111", to="+3120100")
    desk.acd.arrive("sales", id="c2")
    desk.advance(5)
    desk.acd.accept("ann", "c1")
    records.collect()
    records.flush()
    assert storage.get("CommInteraction", "c1")["state"] == "connected"
    desk.advance(60)
    desk.acd.complete("ann", "c1", "sale")
    desk.acd.abandon("c2")
    records.collect()
    records.flush()
    first = storage.get("CommInteraction", "c1")
    assert {k: first[k] for k in ("channel", "direction", "customer", "from", "to", "queue", "agent", "state",
                                  "disposition")} == {
        "channel": "voice", "direction": "inbound", "customer": "K1", "from": "+3130111", "to": "+3120100",
        "queue": "sales", "agent": "ann", "state": "completed", "disposition": "sale"}
    assert (first["created"], first["connected"], first["ended"]) == (
        "2027-01-15T08:00:00", "2027-01-15T08:00:05", "2027-01-15T08:01:05")
    assert storage.get("CommInteraction", "c2")["state"] == "abandoned"
    ann = storage.get("CommAgent", "ann")
    assert (json.loads(ann["skills"]), json.loads(ann["capacity"]), ann["status"], ann["calls"]) == (
        {"sales": 3}, {"voice": 1}, "available", 1)
    queue = storage.get("CommQueue", "sales")
    assert (queue["strategy"], json.loads(queue["skills"]), queue["max_wait"]) == ("skills_based", {"sales": 2}, 600)
    assert json.loads(queue["escalation"]) == [{"after": 30, "skills": {"sales": 1}, "queues": []}]


def test_existing_records_are_updated_and_refused_ones_do_not_stop_the_others(desk, records, storage):
    _observe(desk, records)
    storage.create("CommInteraction", {"id": "i1", "channel": "voice", "direction": "inbound",
                                       "queue": "old", "state": "completed", "created": "2026-01-01T00:00:00"})
    desk.acd.add_queue(Queue("q"))
    desk.acd.arrive("q", id="i1")
    desk.acd.arrive("q", id="x" * 70)
    for n in range(4):
        desk.acd.arrive("q", id=f"n{n}")
    records.collect()
    records.flush()
    assert storage.get("CommInteraction", "i1")["queue"] == "q"
    assert sorted(r["id"] for r in storage.query("CommInteraction")) == ["i1", "n0", "n1", "n2", "n3"]


def test_a_restarted_server_reads_queues_and_agents_back(desk, records, storage):
    _observe(desk, records)
    desk.acd.add_queue(Queue("general"))
    french = Queue("french", skills={"french": 4}, overflow="general")
    desk.acd.add_queue(french)
    for queue in desk.acd.queues.values():
        records.changed_queue(queue)
    desk.acd.login("bob", {"french": 5}, {"voice": 1, "chat": 2})
    desk.acd.logout("bob")
    records.collect()
    records.flush()
    desk.swap()
    desk.acd.queues.clear()
    fresh = CommRecords(desk.acd, lambda: storage)
    desk.acd.agents.clear()
    definitions = fresh.load(storage.query("CommQueue"), storage.query("CommAgent"))
    assert sorted(d["name"] for d in definitions) == ["french", "general"]
    assert [d for d in definitions if d["name"] == "french"][0]["overflow"] == "general"
    bob = desk.acd.agents["bob"]
    assert (bob.status, bob.skills, bob.capacity) == ("logged_out", {"french": 5}, {"voice": 1, "chat": 2})


def test_voicemail_and_campaigns_are_written_and_read_back_with_their_progress(desk, storage):
    desk.clock.now = 1_800_000_000.0
    desk.acd.add_queue(Queue("sales"))
    box = VoicemailBox(desk.acd)
    campaign = Campaign("spring", desk.acd, "sales",
                        SimDialer(desk.timers, seed=1, answer_rate=0, busy_rate=1, busy_after=3),
                        [Contact(f"+49300{n}", customer=f"K{n}") for n in range(3)],
                        retries={"busy": Retry(2, 600)}, dnc=["+4930999"])
    records = CommRecords(desk.acd, lambda: storage, voicemail=box, campaigns=lambda: {"spring": campaign})
    desk.acd.sink = lambda event: (desk.events.append(event), box.observe(event), campaign.observe(event),
                                   records.observe(event))
    written = box.deposit("sales", "please call me back", caller="+3130222")
    desk.acd.login("ann", {}, {"voice": 1})
    desk.acd.accept("ann", written.callback)
    desk.acd.complete("ann", written.callback, "called")
    spoken = box.deposit("sales", b"\x00\x01audio", caller="+3130111", customer="K1")   # offered to ann
    desk.acd.login("bob", {}, {"voice": 1})
    campaign.start()
    desk.advance(20)                                   # each contact dialed once: busy, retry in 600 s
    records.collect()
    records.flush()
    audio = storage.get("CommVoicemail", spoken.id)
    assert (audio["state"], audio["size"], audio["text"], audio["caller"], audio["time"]) == (
        "new", 7, None, "+3130111", "2027-01-15T08:00:00")
    assert stored_voicemail(audio) == spoken
    text = storage.get("CommVoicemail", written.id)
    assert (text["state"], text["text"], text["audio"]) == ("called_back", "please call me back", None)
    stored = storage.get("CommCampaign", "spring")
    assert (stored["state"], stored["dialed"], stored["failed"], json.loads(stored["dnc"])) == (
        "active", 3, 3, ["+4930999"])
    contacts = storage.query("CommCampaignContact", where={"field": "campaign", "value": "spring"})
    assert sorted((c["number"], c["attempts"], c["status"], c["disposition"]) for c in contacts) == [
        (f"+49300{n}", 1, "retry", "busy") for n in range(3)]
    assert sorted(c["retry_at"] for c in contacts) == ["2027-01-15T08:10:03", "2027-01-15T08:10:06",
                                                       "2027-01-15T08:10:09"]

    desk.swap()                                        # a restart: the new ACD knows only the records
    state = stored_campaign(storage.get("CommCampaign", "spring"), contacts)
    assert state["state"] == "paused"
    again = Campaign.restore(desk.acd, SimDialer(desk.timers, seed=2, answer_rate=0, busy_rate=1),
                             state, written=True)
    desk.acd.sink = lambda event: (desk.events.append(event), again.observe(event))
    assert again.take_changes() is None
    desk.acd.login("cid", {}, {"voice": 1})
    again.resume()
    desk.advance(700)
    attempts = [(e.data["number"], e.data["attempt"]) for e in desk.named("dial")]
    assert sorted(attempts) == sorted([(f"+49300{n}", a) for n in range(3) for a in (1, 2)])
    assert again.state == "finished" and {c.status for c in again.contacts} == {"done"}


@pytest.fixture
def handed(desk, storage):
    """Records held while the server's hand-over lasts, and that hand-over."""
    hand_over = HandOver()
    return CommRecords(desk.acd, lambda: storage, batch=3, held=lambda: hand_over.held), hand_over


def test_records_handed_over_wait_and_the_successor_writes_them_when_the_swap_happened(desk, handed, storage):
    records, hand_over = handed
    _observe(desk, records)
    desk.acd.add_queue(Queue("q"))
    desk.acd.arrive("q", id="handed")
    hand_over.move(EXPORT)
    exported = records.export_state()
    assert [(kind, key) for kind, key, _ in exported["pending"]] == [("CommInteraction", "handed")]
    records.flush()                                    # the hand-over lasts: nothing is written
    records.drop_pending()                             # the swap happened: the successor writes them
    hand_over.move(DEACTIVATE)
    records.flush()
    with pytest.raises(NotFound):
        storage.get("CommInteraction", "handed")


def test_records_handed_over_are_written_here_when_the_swap_did_not_happen(desk, handed, storage):
    records, hand_over = handed
    _observe(desk, records)
    desk.acd.add_queue(Queue("q"))
    desk.acd.arrive("q", id="kept")
    hand_over.move(EXPORT)
    records.export_state()
    records.flush()
    with pytest.raises(NotFound):
        storage.get("CommInteraction", "kept")
    desk.acd.abandon("kept")                           # the swap failed; the server goes on
    records.collect()
    hand_over.move(RESUME)
    records.flush()
    assert storage.get("CommInteraction", "kept")["state"] == "abandoned"


def test_records_nobody_took_over_stay_pending_at_deactivate(desk, handed, storage):
    records, hand_over = handed
    _observe(desk, records)
    desk.acd.add_queue(Queue("q"))
    desk.acd.arrive("q", id="left")
    records.collect()
    hand_over.move(DEACTIVATE)                         # unregistered: no export came first
    records.flush()
    assert storage.get("CommInteraction", "left")["state"] == "waiting"


def test_a_campaign_is_written_whole_only_when_its_definition_changed(desk, storage):
    desk.acd.add_queue(Queue("sales"))
    campaign = Campaign("autumn", desk.acd, "sales",
                        SimDialer(desk.timers, seed=1, answer_rate=0, busy_rate=1, busy_after=3),
                        [Contact("+493001"), Contact("+493002")], retries={"busy": Retry(2, 600)},
                        dnc=["+4930999"])
    records = CommRecords(desk.acd, lambda: storage, campaigns=lambda: {"autumn": campaign})
    desk.acd.sink = lambda event: (desk.events.append(event), campaign.observe(event), records.observe(event))
    records.collect()                                  # new: the whole campaign
    desk.acd.login("bob", {}, {"voice": 1})
    campaign.start()
    desk.advance(20)
    records.collect()                                  # progress only, merged over the pending record
    records.flush()
    stored = storage.get("CommCampaign", "autumn")
    assert (stored["queue"], json.loads(stored["dnc"]), stored["state"], stored["dialed"]) == (
        "sales", ["+4930999"], "active", 2)
    desk.advance(700)                                  # the retries
    assert campaign.take_changes() == (False, [0, 1])
    campaign.add_dnc("+49 30 998")
    assert campaign.take_changes() == (True, [])
    campaign.add_dnc("+4930997")
    records.collect()
    records.flush()
    stored = storage.get("CommCampaign", "autumn")
    assert (json.loads(stored["dnc"]), stored["dialed"]) == (["+4930997", "+4930998", "+4930999"], 4)
