"""The hand-over state machine: every step from every state, the refused ones included, what
each state lets the server do (timers, records), and a server refusing a step."""
from __future__ import annotations

import pytest

from caruso_core.errors import Conflict, NotFound

from caruso_comm.handover import (ACTIVE, COLD_START, DEACTIVATE, EXPORT, HANDING_OVER, IMPORT, RESUME,
                                  RETIRED, STEPS, HandOver)

from comm_servers import running  # noqa: F401  (a fixture)

EXPECTED = {
    (ACTIVE, EXPORT): HANDING_OVER, (ACTIVE, RESUME): ACTIVE, (ACTIVE, DEACTIVATE): RETIRED,
    (ACTIVE, IMPORT): ACTIVE, (ACTIVE, COLD_START): ACTIVE,
    (HANDING_OVER, EXPORT): HANDING_OVER, (HANDING_OVER, RESUME): ACTIVE, (HANDING_OVER, DEACTIVATE): RETIRED,
    (HANDING_OVER, IMPORT): ACTIVE, (HANDING_OVER, COLD_START): ACTIVE,
    (RETIRED, EXPORT): None, (RETIRED, RESUME): None, (RETIRED, DEACTIVATE): RETIRED,
    (RETIRED, IMPORT): ACTIVE, (RETIRED, COLD_START): ACTIVE,
}
PATH = {ACTIVE: [], HANDING_OVER: [EXPORT], RETIRED: [EXPORT, DEACTIVATE]}   # how a new instance gets there


def _in(state: str) -> HandOver:
    hand_over = HandOver()
    for step in PATH[state]:
        hand_over.move(step)
    assert hand_over.state == state
    return hand_over


def test_every_state_and_step_is_covered():
    assert set(EXPECTED) == {(state, step) for state in PATH for step in STEPS}


@pytest.mark.parametrize(("state", "step"), sorted(EXPECTED))
def test_each_step_from_each_state(state, step):
    hand_over = _in(state)
    after = EXPECTED[(state, step)]
    if after is None:
        with pytest.raises(Conflict, match=f"{step} refused: this instance is {state}"):
            hand_over.move(step)
        assert hand_over.state == state                    # a refused step changes nothing
    else:
        assert hand_over.move(step) == state               # the state it left
        assert hand_over.state == after


@pytest.mark.parametrize("state", sorted(PATH))
def test_timers_fire_only_when_active_and_records_are_held_only_while_handing_over(state):
    hand_over = _in(state)
    assert (hand_over.serving, hand_over.held) == (state == ACTIVE, state == HANDING_OVER)


def test_an_unknown_step_is_an_error_not_a_refusal():
    with pytest.raises(ValueError, match="no hand-over step 'swap'"):
        HandOver().move("swap")


def test_a_retired_server_refuses_to_hand_over_its_stale_work_and_drops_it_when_started_cold(running):
    server = running(queues=[{"name": "q"}])
    server.login("ann", {}, {"voice": 1})
    call = server.arrive("q")["id"]
    server.export_state()
    server.deactivate()                                    # the swap happened: the work is the successor's
    with pytest.raises(Conflict):
        server.export_state()
    with pytest.raises(Conflict):
        server.resume()
    assert server.interaction(call)["state"] == "offered"  # refused steps changed nothing
    server.cold_start()                                    # active again, without the successor's state
    assert server.agents() == []
    with pytest.raises(NotFound):
        server.interaction(call)
