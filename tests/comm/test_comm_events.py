"""The event log's published contract (caruso_comm.events): the documentation says what the
module publishes, and the server writes nothing else."""
from __future__ import annotations

import re
from pathlib import Path

from caruso_comm.campaign import Campaign, Contact
from caruso_comm.dialers.sim import SimDialer
from caruso_comm.eventlog import EventLog
from caruso_comm.events import EVENTS, RESTART, SCHEMA_VERSION, Event, table
from caruso_comm.ivr import Ivr, IvrMenu
from caruso_comm.model import Escalation, Queue
from caruso_comm.service import CommServer
from caruso_comm.voicemail import VoicemailBox
from caruso_scripts.service import ScriptService

DOCS = Path(__file__).parents[2] / "docs" / "communication.md"
SCRIPTS = Path(__file__).parent / "scripts"
COLUMNS = ("interaction", "queue", "agent")


def _section(title: str) -> str:
    text = DOCS.read_text()
    start = text.index(f"\n## {title}\n")
    return text[start:text.index("\n## ", start + 1)]


def _rows(section: str, header: str) -> list[list[str]]:
    """The cells of the rows of the table whose header line starts with ``header``."""
    lines = section.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_the_documented_columns_are_the_published_table():
    rows = _rows(_section("Event log"), "| column |")
    assert [row[0].strip("`") for row in rows] == [column.name for column in table.columns]


def test_the_documented_events_and_fields_are_the_published_ones():
    documented = {}
    for name, *columns, data, _ in _rows(_section("Event log"), "| event |"):
        set_columns = {column for column, cell in zip(COLUMNS, columns) if cell not in ("", "—")}
        documented[name.strip("`")] = (set_columns, set(re.findall(r"`(\w+)`", data)))
    assert documented == {name: (set(spec.columns), set(spec.fields)) for name, spec in EVENTS.items()}


def test_the_documented_schema_version_is_the_published_one():
    assert f"`SCHEMA_VERSION`, now {SCHEMA_VERSION})" in _section("Event log")


def _unpublished(event: Event) -> list[str]:
    spec = EVENTS.get(event.event)
    if spec is None:
        return [f"event {event.event!r}"]
    columns = [c for c in COLUMNS if getattr(event, c) is not None and c not in spec.columns]
    return ([f"{event.event}: column {c}" for c in columns]
            + [f"{event.event}: field {f}" for f in event.data if f not in spec.fields])


def test_the_server_writes_only_published_events_columns_and_fields(desk, tmp_path):
    """Every kind of event, from the ACD, voicemail, the IVR, a campaign and the closing
    at a cold start, read back from the log."""
    db = f"sqlite:///{tmp_path / 'comm.db'}"
    log, acd = EventLog(db), desk.acd
    log.append(Event(desk.clock.now, RESTART, data={"closed": 0, "logged_out": 0}))   # an earlier cold start
    for queue in (Queue("out", channel="phone"), Queue("sales", offer_timeout=10, max_no_answer=1, wrap_up=5),
                  Queue("ring", strategy="ring_all"), Queue("full", max_length=1),
                  Queue("french", skills={"french": 5}, escalation=[Escalation(after=5, skills={"french": 1})]),
                  Queue("late", max_wait=5, overflow="voicemail")):
        acd.add_queue(queue)
    box = VoicemailBox(acd)
    campaign = Campaign("spring", acd, "out", SimDialer(desk.timers, seed=3, answer_rate=1.0),
                        [Contact("+4930100", "K1"), Contact("+4930200", "K2"), Contact("+4930300", "K3")],
                        dnc=["+4930200"])
    acd.sink = lambda event: (log.append(event), box.observe(event), campaign.observe(event))
    acd.login("ann", {"french": 2}, {"voice": 1})
    acd.arrive("sales", id="c1")
    desk.advance(10)                                   # no answer: ann goes on break
    acd.login("bob", {}, {"voice": 1})
    acd.reject("bob", "c1")
    acd.login("cid", {}, {"voice": 1})
    acd.accept("cid", "c1")
    acd.transfer("cid", "c1", queue="ring")
    acd.login("dan", {}, {"voice": 1})
    acd.accept("bob", "c1")                            # dan's offer is withdrawn
    acd.complete("bob", "c1", "sold")
    desk.advance(5)                                    # wrap-up ends
    acd.set_status("ann", "available")
    acd.arrive("full", id="c2")
    acd.arrive("full", id="c3")                        # over the queue's length: abandoned
    acd.arrive("french", id="c4")                      # escalates to ann
    acd.arrive("late", id="c5")
    acd.abandon("c2")
    box.deposit("sales", "call me", caller="+4930999")
    scripts = ScriptService(scripts=str(SCRIPTS), db=f"sqlite:///{tmp_path / 'scripts.db'}")
    ivr = Ivr(acd, lambda: scripts, [IvrMenu("hotline", "sales")], box)
    ivr.call("i1")
    ivr.press("i1", "4")
    ivr.call("i2")
    ivr.hang_up("i2")
    campaign.opt_out({"K3"})
    acd.login("eve", {}, {"phone": 1})                 # ready on the campaign's channel: it dials
    campaign.start()
    desk.advance(120)                                  # late overflows to voicemail; the campaign dials
    log.close()
    server = CommServer(db=db)                         # a cold start closes what was left open
    server.cold_start()
    server.stop()
    written = list(EventLog(db).read())
    assert [problem for event in written for problem in _unpublished(event)] == []
    assert {event.event for event in written} == set(EVENTS)
