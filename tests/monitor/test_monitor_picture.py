"""The monitor's picture against the ACD itself and against a replay of the stored event log."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caruso_core.errors import CarusoError
from caruso_comm.acd import ACD
from caruso_comm.campaign import Campaign, Contact
from caruso_comm.dialers.sim import SimDialer
from caruso_comm.eventlog import EventLog
from caruso_comm.events import Event
from caruso_comm.model import Escalation, Queue
from caruso_comm.simulator import Scenario, Simulation
from caruso_comm.timers import Timers, VirtualClock
from caruso_monitor.feed import Feed
from caruso_monitor.picture import Picture

AGENTS = [f"a{n}" for n in range(4)]
QUEUES = ["q0", "q1", "q2"]
START = 1_700_000_000.0


class Centre:
    """The real ACD on a virtual clock; every event goes to a live picture and to a list."""

    def __init__(self) -> None:
        self.clock = VirtualClock(START)
        self.timers = Timers(self.clock)
        self.events: list[Event] = []
        self.picture = Picture(window=600.0, targets={"q1": 10.0})
        self.acd = ACD(self.timers, self._observe)
        self.acd.add_queue(Queue("q0", wrap_up=5, offer_timeout=10, max_wait=60, overflow="voicemail"))
        self.acd.add_queue(Queue("q1", strategy="ring_all", max_length=2, overflow="q0", offer_timeout=8,
                                 escalation=[Escalation(after=15, queues=["q0"])]))
        self.acd.add_queue(Queue("q2", strategy="round_robin", max_wait=40, max_no_answer=2))
        self.arrivals = 0

    def _observe(self, event: Event) -> None:
        self.events.append(event)
        self.picture.apply(event._replace(id=len(self.events)))

    def advance(self, seconds: float) -> None:
        end = self.clock.now + seconds
        while (due := self.timers.next_time()) is not None and due <= end:
            self.clock.now = due
            self.timers.run_due(due)
        self.clock.now = end

    def pick(self, items, index: int):
        items = sorted(items)
        return items[index % len(items)] if items else None

    def do(self, operation: tuple) -> None:
        """One operation at the current instant (``advance`` moves the clock)."""
        kind, a, b, c = operation
        agent = AGENTS[a % len(AGENTS)]
        acd = self.acd
        record = acd.agents.get(agent)
        try:
            if kind == "login":
                acd.login(agent, skills={}, status=("available", "break")[b % 2])
            elif kind == "logout":
                acd.logout(agent)
            elif kind == "status":
                acd.set_status(agent, ("available", "break")[b % 2], ("", "lunch")[c % 2])
            elif kind == "arrive":
                self.arrivals += 1
                acd.arrive(QUEUES[b % len(QUEUES)], id=f"i{self.arrivals}")
            elif kind == "abandon":
                live = [i for i, x in acd.interactions.items() if x.state in ("waiting", "offered")]
                if live:
                    acd.abandon(self.pick(live, b))
            elif kind == "advance":
                self.advance(float(1 + b * c * 2))
            elif record is not None and kind in ("accept", "reject") and record.offers:
                getattr(acd, kind)(agent, self.pick(record.offers, b))
            elif record is not None and kind == "complete" and record.connected:
                acd.complete(agent, self.pick(record.connected, b), "done")
            elif record is not None and kind == "end_wrap" and record.wrapping:
                acd.end_wrap_up(agent, self.pick(record.wrapping, b))
            elif record is not None and kind == "transfer" and record.connected:
                interaction = self.pick(record.connected, b)
                if c % 2:
                    acd.transfer(agent, interaction, agent=AGENTS[c % len(AGENTS)])
                else:
                    acd.transfer(agent, interaction, queue=QUEUES[c % len(QUEUES)])
        except CarusoError:
            pass  # the ACD refused an operation its rules do not allow; nothing happened


def acd_view(acd: ACD) -> tuple[dict, dict]:
    agents = {a.id: (a.status, a.reason, a.state) for a in acd.agents.values() if a.status != "logged_out"}
    interactions = {i.id: (i.queue, i.state, frozenset(i.offers), i.agent, i.entered)
                    for i in acd.interactions.values()}
    return agents, interactions


def picture_view(picture: Picture) -> tuple[dict, dict]:
    agents = {a.id: (a.status, a.reason, a.state) for a in picture.agents.values()}
    interactions = {i.id: (i.queue, i.state, frozenset(i.offers), i.agent, i.entered)
                    for i in picture.interactions.values()}
    return agents, interactions


KINDS = ["login", "login", "logout", "status", "arrive", "arrive", "arrive", "accept", "accept", "accept",
         "reject", "complete", "complete", "end_wrap", "transfer", "transfer", "abandon", "advance", "advance"]
OPERATIONS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 7), st.integers(0, 7),
                                st.integers(0, 7)), min_size=1, max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_the_picture_matches_the_acd_after_every_operation_and_a_replay_of_the_stored_log(
        operations, tmp_path_factory):
    centre = Centre()
    snapshots = []
    for operation in operations:
        centre.do(operation)
        assert picture_view(centre.picture) == acd_view(centre.acd)
        snapshots.append((len(centre.events), centre.picture.snapshot(centre.clock.now)))
    url = f"sqlite:///{tmp_path_factory.mktemp('log') / 'comm.db'}"
    log = EventLog(url)
    for event in centre.events:
        log.append(event)
    log.close()
    feed = Feed(url)
    replay = Picture(window=600.0, targets={"q1": 10.0})
    stored = feed.events()
    for count, snapshot in snapshots:
        while replay.last_id < count:
            replay.apply(next(stored))
        assert replay.snapshot(snapshot["time"]) == snapshot
    feed.close()


def test_a_snapshot_counts_agents_waiting_interactions_and_the_longest_wait():
    centre = Centre()
    centre.acd.login("a0", status="available")
    centre.acd.login("a1", status="break")
    centre.acd.arrive("q2", id="x")          # offered to a0 at once
    centre.advance(3)
    centre.acd.arrive("q2", id="y")          # nobody free: waits
    centre.advance(4)
    picture = centre.picture.snapshot(centre.clock.now)
    assert picture["agent_counts"] == {"logged_in": 2, "available": 1, "break": 1, "offered": 1, "idle": 1}
    q2 = next(q for q in picture["queues"] if q["queue"] == "q2")
    assert (q2["waiting"], q2["longest_wait"]) == (2, 7.0)
    assert [(w["id"], w["state"], w["wait"], w["ringing"], w["channel"]) for w in picture["waiting"]] == [
        ("x", "offered", 7.0, ["a0"], "voice"), ("y", "waiting", 4.0, [], "voice")]
    assert {a["id"]: a["seconds_in_state"] for a in picture["agents"]} == {"a0": 7.0, "a1": 7.0}


def test_service_level_counts_the_last_window_only():
    picture = Picture(window=1800.0, default_target=20.0)
    events = [("connect", 5.0), ("connect", 25.0), ("abandon", 40.0), ("connect", 10.0)]
    for n, (name, wait) in enumerate(events, start=1):
        picture.apply(Event(START + n * 300, "enter", f"i{n}", "sales", id=2 * n))
        picture.apply(Event(START + n * 300 + wait, name, f"i{n}", "sales", "b", {"wait": wait}, 2 * n + 1))
    sales = picture.snapshot(START + 4 * 300 + 20)["queues"][0]
    assert (sales["answered"], sales["abandoned"], sales["service_level"]) == (3, 1, 0.5)
    later = picture.snapshot(START + 300 + 5 + 1800 + 1)["queues"][0]    # the first outcome left the window
    assert (later["answered"], later["abandoned"], later["service_level"]) == (2, 1, pytest.approx(1 / 3))


def test_campaign_progress_and_abandon_rate_follow_the_campaigns_own_figures():
    simulation = Simulation(Scenario(agents=3, calls_per_hour=0, aht=120, hours=1, seed=4, start=START))
    campaign = Campaign("spring", simulation.acd, "sim", SimDialer(simulation.timers, seed=4),
                        [Contact(f"+49301{n:05d}", customer=f"c{n}") for n in range(300)], pacing="predictive")
    picture = Picture()
    events: list[Event] = []

    def observe(event: Event) -> None:
        events.append(event)
        picture.apply(event._replace(id=len(events)))

    checks = []

    def check() -> None:
        shown = picture.snapshot(simulation.clock.now)["campaigns"]
        checks.append((shown, campaign.figures()))

    simulation.observers += [campaign.observe, observe]
    for minute in (20, 40, 60):
        simulation.timers.at(START + minute * 60, check)
    campaign.start()
    simulation.run()
    assert len(checks) == 3
    for shown, figures in checks:
        assert [(c["name"], c["state"]) for c in shown] == [("spring", "active")]
        assert (shown[0]["dialed"], shown[0]["answered"], shown[0]["abandoned"]) == \
            (figures["dialed"], figures["answered"], figures["abandoned"])
        assert shown[0]["abandon_rate"] == pytest.approx(figures["abandon_rate"])
        assert (shown[0]["contacts"], shown[0]["progress"]) == (300, figures["dialed"] / 300)
    assert checks[-1][1]["dialed"] > checks[0][1]["dialed"] > 0
    assert picture.snapshot(simulation.clock.now)["campaigns"] == []      # finished: no longer live


def test_announced_queues_are_shown_idle_and_measured_against_their_own_targets_unless_configured():
    announced = Event(START, "queues", data={"queues": [{"name": "sales", "channel": "voice", "sl_target": 8.0},
                                                         {"name": "billing", "channel": "voice", "sl_target": 60.0}]},
                      id=1)
    answered_in_10s = [Event(START + 1, "enter", "i1", "sales", id=2),
                       Event(START + 11, "connect", "i1", "sales", "b", {"wait": 10.0}, 3)]
    own, configured = Picture(default_target=20.0), Picture(targets={"sales": 30.0}, default_target=20.0)
    for picture in (own, configured):
        for event in (announced, *answered_in_10s):
            picture.apply(event)
    queues = {q["queue"]: q for q in own.snapshot(START + 12)["queues"]}
    assert set(queues) == {"sales", "billing"}
    assert (queues["billing"]["waiting"], queues["billing"]["answered"], queues["billing"]["service_level"]) == (
        0, 0, None)
    assert queues["sales"]["service_level"] == 0.0            # 10 s against the announced 8 s
    assert configured.snapshot(START + 12)["queues"][1]["service_level"] == 1.0   # the monitor's own 30 s
