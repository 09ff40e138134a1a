"""What agents, supervisors and channels do on the ACD: the operations of ``caruso.comm/1``
on agents, interactions, queues and voicemail, in plain data, each under the server's lock
(``with lock:``).

With ``records`` (``persist``) the changes no event tells (an agent's new skills, a new
queue) are noted for writing behind. ``campaign_call`` tells what the campaign placing an
interaction says of it (:meth:`caruso_comm.outbound.Outbound.call`).
"""
from __future__ import annotations

from typing import Any, Callable, ContextManager

import attrs

from caruso_core.errors import Conflict, NotFound

from caruso_comm.acd import ACD
from caruso_comm.channel import Channels
from caruso_comm.model import InteractionState, queue_from_dict
from caruso_comm.records import CommRecords
from caruso_comm.voicemail import VoicemailBox


class Desk:
    """The operations, each taking ``lock`` around its work on ``acd``."""

    def __init__(self, acd: ACD, voicemail: VoicemailBox, channels: Channels, lock: ContextManager[Any],
                 records: CommRecords | None = None,
                 campaign_call: Callable[[str], dict[str, Any] | None] = lambda interaction: None) -> None:
        self.acd, self.voicemail, self.channels = acd, voicemail, channels
        self._lock, self._records, self._campaign_call = lock, records, campaign_call

    # -- agents ----------------------------------------------------------------------------

    def login(self, agent: str, skills: dict[str, int] | None = None,
              capacity: dict[str, int] | None = None, status: str = "available") -> dict[str, Any]:
        """Log in (or update skills and capacity); returns the agent."""
        with self._lock:
            snapshot = self.acd.login(agent, skills, capacity, status).snapshot()
            if self._records is not None:
                self._records.changed_agent(agent)
            return snapshot

    def logout(self, agent: str) -> None:
        """Refused (Conflict) while connected; pending offers go back to their queues."""
        with self._lock:
            self.acd.logout(agent)

    def set_status(self, agent: str, status: str, reason: str = "") -> None:
        """``available`` or ``break`` with a reason (agents and supervisors)."""
        with self._lock:
            self.acd.set_status(agent, status, reason)

    def agent(self, agent: str) -> dict[str, Any]:
        """The agent with status, state, the ids of their interactions and ``wrap_up_left``:
        the seconds left of each wrap-up (interaction id -> seconds) before it ends by itself."""
        with self._lock:
            return dict(self.acd.agent(agent).snapshot(), wrap_up_left=self.acd.wrap_up_left(agent))

    def accept(self, agent: str, interaction: str) -> dict[str, Any]:
        """The agent takes an interaction offered to them; returns it, connected."""
        with self._lock:
            return self.acd.accept(agent, interaction).snapshot()

    def reject(self, agent: str, interaction: str) -> None:
        """The agent declines an offer; not offered to them again in this queue."""
        with self._lock:
            self.acd.reject(agent, interaction)

    def complete(self, agent: str, interaction: str, disposition: str = "") -> None:
        """The agent ends a connected interaction; wrap-up follows."""
        with self._lock:
            self.acd.complete(agent, interaction, disposition)

    def end_wrap_up(self, agent: str, interaction: str) -> None:
        with self._lock:
            self.acd.end_wrap_up(agent, interaction)

    def transfer(self, agent: str, interaction: str, queue: str | None = None,
                 to_agent: str | None = None) -> None:
        """To a queue or directly to another agent with free capacity."""
        with self._lock:
            self.acd.transfer(agent, interaction, queue=queue, agent=to_agent)

    def send(self, agent: str, interaction: str, text: str) -> None:
        """An agent's message to the customer of a connected interaction, through its channel
        (which delivers it outside the lock)."""
        with self._lock:
            found = self.acd.interactions.get(interaction)
            if found is None or found.agent != agent or found.state != InteractionState.CONNECTED:
                raise Conflict(f"agent {agent!r} is not connected to interaction {interaction!r}")
            snapshot = found.snapshot()
        self.channels.running(snapshot["channel"]).send(snapshot, agent, text)

    # -- interactions ----------------------------------------------------------------------

    def arrive(self, queue: str, channel: str | None = None, customer: str | None = None, from_: str | None = None,
               to: str | None = None, priority: int = 0, id: str | None = None) -> dict[str, Any]:
        """A new inbound interaction in ``queue``; returns it."""
        with self._lock:
            return self.acd.arrive(queue, id=id, channel=channel, customer=customer, from_=from_, to=to,
                                   priority=priority).snapshot()

    def abandon(self, interaction: str, reason: str = "caller") -> None:
        """The customer left before being connected."""
        with self._lock:
            self.acd.abandon(interaction, reason)

    def interaction(self, interaction: str) -> dict[str, Any]:
        """A live interaction; while waiting also ``position`` and ``expected_wait`` (seconds),
        while connected ``connected_for`` (seconds since the agent took it); a campaign's call
        also ``campaign`` (its ``name`` and ``accept_within``, see
        :meth:`caruso_comm.campaign.Campaign.call`)."""
        with self._lock:
            found = self.acd.interactions.get(interaction)
            if found is None:
                raise NotFound(f"no live interaction {interaction!r}")
            snapshot = found.snapshot()
            campaign = self._campaign_call(interaction)
            if campaign is not None:
                snapshot["campaign"] = campaign
            if found.state == InteractionState.CONNECTED and found.connected_at is not None:
                snapshot["connected_for"] = max(0.0, self.acd.timers.now() - found.connected_at)
            if found.state != InteractionState.WAITING:
                return snapshot
            return dict(snapshot, position=self.acd.position(interaction),
                        expected_wait=self.acd.expected_wait(interaction))

    # -- supervisors -----------------------------------------------------------------------

    def add_queue(self, definition: dict[str, Any]) -> dict[str, Any]:
        """Define a queue (keys as in docs/communication.md); returns it."""
        queue = queue_from_dict(definition)
        with self._lock:
            self.acd.add_queue(queue)
            if self._records is not None:
                self._records.changed_queue(queue)
        return attrs.asdict(queue)

    def queues(self) -> list[dict[str, Any]]:
        """Every queue with its settings, ``waiting`` count and ``staffing``."""
        with self._lock:
            return [dict(attrs.asdict(queue), waiting=len(self.acd.waiting(name)),
                         staffing=self.acd.staffing(name)) for name, queue in sorted(self.acd.queues.items())]

    def agents(self) -> list[dict[str, Any]]:
        with self._lock:
            return [agent.snapshot() for _, agent in sorted(self.acd.agents.items())]

    def waiting(self, queue: str) -> list[dict[str, Any]]:
        """The interactions waiting in ``queue``, in routing order."""
        with self._lock:
            return [interaction.snapshot() for interaction in self.acd.waiting(queue)]

    # -- voicemail -------------------------------------------------------------------------

    def leave_voicemail(self, queue: str, content: bytes | str, caller: str | None = None,
                        customer: str | None = None) -> dict[str, Any]:
        """Store a message for ``queue``; its callback task is routed at once."""
        with self._lock:
            return self.voicemail.deposit(queue, content, caller=caller, customer=customer).to_dict()

    def voicemails(self, queue: str | None = None) -> list[dict[str, Any]]:
        """The messages, for one queue or all, in the order they were left."""
        with self._lock:
            return [message.to_dict() for message in self.voicemail.messages(queue)]
