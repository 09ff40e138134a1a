"""Notes of interactions that left the desk, filed without waiting for the agent's desk.

The desk files an interaction's notes on *Complete*, at *End wrap-up*, and, for one that
left without either (the caller hung up without wrap-up, a wrap-up that timed out), when the
agent's desk is next drawn (:meth:`~caruso_frontoffice.desk.Desk.file_left`). An agent who
closed the desk would hold such notes back until opening it again.

Contract of :class:`Filing` (a :class:`caruso_core.retrying.Worker`, started and stopped
with the front office): every ``file_every`` seconds of the desk's settings it calls
``file_left`` for each agent with notes not yet filed, with the agent as the communication
server has it then; a communication server or storage that does not answer ends the pass,
and the next tries again. Filing twice is impossible: each filing claims its row first.
"""
from __future__ import annotations

import logging

from caruso_core.errors import CarusoError
from caruso_core.retrying import Worker
from caruso_frontoffice.desk import Desk

log = logging.getLogger(__name__)


class Filing(Worker):
    """The front office's filing of notes left behind; see the module's contract."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.every = desk.settings.file_every
        super().__init__("frontoffice-filing", log, "filing notes left behind", poll=self.every)

    def work(self) -> float:
        for agent in self.desk.worksheets.agents_with_unfiled():
            if self.stopping:
                break
            try:
                self.desk.file_left(agent, self.desk.agent(agent))
            except CarusoError as failure:
                log.info("notes left behind will be filed later: %s", failure)
                break
        return self.every
