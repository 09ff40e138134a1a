"""The wallboard redraws in place: cursor home, lines overwritten, the rest cleared; never a blank screen."""
from __future__ import annotations

import io

from caruso_comm.events import Event
from caruso_monitor import wallboard
from caruso_monitor.picture import Picture


def _picture() -> dict:
    picture = Picture()
    events = [Event(100.0, "agent_status", agent="ann", data={"status": "available", "reason": ""}),
              Event(100.0, "agent_status", agent="bob", data={"status": "break", "reason": "lunch"}),
              Event(110.0, "enter", "c1", "sales", data={"channel": "voice"}),
              Event(110.0, "campaign_state", queue="sales", data={"campaign": "spring", "state": "active",
                                                                   "contacts": 10}),
              Event(111.0, "dial", "o1", "sales", data={"campaign": "spring", "number": "+1", "attempt": 1})]
    for number, event in enumerate(events, start=1):
        picture.apply(event._replace(id=number))
    return picture.snapshot(200.0)


def test_a_frame_shows_agents_queues_waiting_and_campaigns():
    lines = wallboard.frame(_picture())
    assert lines[1].startswith("agents: logged_in 2  available 1  break 1  idle 2")
    assert any(line.split() == ["sales", "1", "1:30", "0", "0", "0", "-"] for line in lines)
    assert any(line.split() == ["c1", "sales", "waiting", "1:30"] for line in lines)
    assert any(line.split() == ["bob", "break", "idle", "1:40", "lunch"] for line in lines)
    assert any(line.split() == ["spring", "active", "10%", "1", "0", "0", "-"] for line in lines)


def test_drawing_overwrites_in_place_without_clearing_the_screen():
    out = io.StringIO()
    lines = wallboard.frame(_picture())
    wallboard.draw(lines, out, columns=200, rows=100)
    written = out.getvalue()
    assert written.startswith(wallboard.HOME) and written.endswith(wallboard.CLEAR_BELOW)
    assert wallboard.CLEAR_SCREEN not in written
    body = written[len(wallboard.HOME):-len(wallboard.CLEAR_BELOW)]
    assert body.split("\n")[:-1] == [line + wallboard.CLEAR_LINE for line in lines]


def test_a_frame_is_cut_to_the_terminal_so_nothing_wraps_or_scrolls():
    out = io.StringIO()
    lines = wallboard.frame(_picture())
    wallboard.draw(lines, out, columns=20, rows=6)
    body = out.getvalue()[len(wallboard.HOME):-len(wallboard.CLEAR_BELOW)].split("\n")[:-1]
    assert body == [line[:20] + wallboard.CLEAR_LINE for line in lines[:5]]
