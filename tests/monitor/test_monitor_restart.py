"""The monitor after a restart of the communication server: interactions the restart ended
leave the picture without counting as abandoned; an agent kept logged in keeps the time
since their status."""
from __future__ import annotations

from caruso_comm.events import Event
from caruso_monitor.picture import Picture

START = 1_796_000_000.0


def test_an_interaction_ended_by_a_restart_leaves_without_counting_as_abandoned():
    picture = Picture(window=1800.0, default_target=20.0)
    for n, (reason, wait) in enumerate([("caller", 30.0), ("restart", 40.0)], start=1):
        picture.apply(Event(START, "enter", f"i{n}", "sales", id=2 * n))
        picture.apply(Event(START + wait, "abandon", f"i{n}", "sales", None, {"reason": reason, "wait": wait},
                            2 * n + 1))
    snapshot = picture.snapshot(START + 60)
    [sales] = snapshot["queues"]
    assert (sales["waiting"], sales["abandoned"]) == (0, 1)
    assert snapshot["waiting"] == []


def test_a_status_stated_again_at_a_restart_keeps_the_time_since_the_status():
    picture = Picture()
    picture.apply(Event(START, "agent_status", None, None, "ann", {"status": "break", "reason": "lunch"}, 1))
    picture.apply(Event(START + 600, "agent_status", None, None, "ann", {"status": "break", "reason": "lunch"}, 2))
    [ann] = picture.snapshot(START + 900)["agents"]
    assert (ann["status"], ann["seconds_in_status"]) == ("break", 900.0)
