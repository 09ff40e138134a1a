"""Helpers of the reports' tests (imported by name: conftest modules of several test
folders would shadow each other)."""
from __future__ import annotations

from typing import Any

from caruso_comm.acd import ACD
from caruso_comm.eventlog import EventLog
from caruso_comm.model import Queue
from caruso_comm.timers import Timers, VirtualClock
from caruso_core.testing.commands import Ran, caruso as run_caruso


def caruso(*arguments: str, env: dict | None = None) -> Ran:
    """Run the ``caruso`` command in process, as the console script would."""
    return run_caruso(*arguments, env=env)


def agents_logged_in(url: str, login: float, *agents: str) -> tuple[VirtualClock, EventLog, Any]:
    """An event log at ``url`` with a queue ``sales`` whose ``agents`` logged in at ``login``
    (Unix time); its clock (standing at ``login``), the log and the ACD writing to it."""
    clock = VirtualClock(login)
    log = EventLog(url)
    acd = ACD(Timers(clock), log)
    acd.add_queue(Queue("sales"))
    for agent in agents:
        acd.login(agent)
    return clock, log, acd
