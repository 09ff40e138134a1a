"""Voicemail: messages left for a queue, each turned into a callback task the ACD routes.

A message (audio bytes for voice, text otherwise) is kept with caller, customer,
queue and time. Depositing it puts a callback interaction (direction ``outbound``,
``to`` = the caller) into the queue's callback queue (the queue itself unless
mapped otherwise). A message is ``new`` until its callback task ends: ``called_back``
when an agent completed it, ``closed`` when it ended otherwise. Messages are held in
memory; with ``persist`` the server writes them behind and, after a restart, holds the
stored new ones again and routes their callback tasks again (see docs/communication.md).
"""
from __future__ import annotations

import uuid
from typing import Any, Mapping

import attrs

from caruso_core.errors import InvalidInput, NotFound

from caruso_comm.acd import ACD
from caruso_comm.events import COMPLETE, ENDINGS, VOICEMAIL_MESSAGE, Event

NEW, CALLED_BACK, CLOSED = "new", "called_back", "closed"


@attrs.define
class Voicemail:
    id: str
    queue: str
    caller: str | None
    customer: str | None
    time: float
    content: bytes | str
    callback: str
    state: str = NEW

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


class VoicemailBox:
    """Stores messages and creates their callback tasks on ``acd``."""

    def __init__(self, acd: ACD, callback_queues: Mapping[str, str] | None = None) -> None:
        self.acd = acd
        self.callback_queues = dict(callback_queues or {})
        self._messages: dict[str, Voicemail] = {}
        self._callbacks: dict[str, str] = {}     # live callback task -> message
        self._changed: set[str] = set()          # for take_changes

    def deposit(self, queue: str, content: bytes | str, *, caller: str | None = None,
                customer: str | None = None) -> Voicemail:
        """Keep a message left for ``queue`` and route its callback task."""
        if queue not in self.acd.queues:
            raise NotFound(f"no queue {queue!r}")
        if not isinstance(content, (bytes, str)) or not content:
            raise InvalidInput("a voicemail needs content: audio bytes or text")
        message_id = f"vm{uuid.uuid4().hex[:16]}"  # unique across restarts of the server
        message = Voicemail(message_id, queue, caller, customer, self.acd.timers.now(), content,
                            callback=f"callback-{message_id}")
        self._keep(message)
        self.acd.record(VOICEMAIL_MESSAGE, interaction=message.callback, queue=queue,
                        message=message_id, caller=caller, customer=customer)
        self._call_back(message)
        return message

    def _call_back(self, message: Voicemail) -> None:
        """Route the callback task of ``message`` in its queue's callback queue (created when
        the message was left)."""
        self._callbacks[message.callback] = message.id
        self.acd.arrive(self.callback_queues.get(message.queue, message.queue), id=message.callback,
                        direction="outbound", customer=message.customer, to=message.caller,
                        created=message.time)

    def _keep(self, message: Voicemail) -> None:
        self._messages[message.id] = message
        self._changed.add(message.id)

    def observe(self, event: Event) -> None:
        """Follow the callback tasks: the message is called back when its task completes."""
        if event.event in ENDINGS and event.interaction in self._callbacks:
            message = self._messages[self._callbacks.pop(event.interaction)]
            message.state = CALLED_BACK if event.event == COMPLETE else CLOSED
            self._changed.add(message.id)

    def restore(self, messages: list[dict[str, Any]]) -> None:
        """Hold exactly the messages exported by :meth:`Voicemail.to_dict` (the callbacks of
        new ones exist already)."""
        self._messages = {data["id"]: Voicemail(**data) for data in messages}
        self._callbacks = {m.callback: m.id for m in self._messages.values() if m.state == NEW}

    def load(self, messages: list[Voicemail]) -> list[Voicemail]:
        """Hold stored messages again (read after a restart) and route the callback task of
        each new one the ACD does not hold (with the same id as before); returns the messages
        whose task could not be routed (its queue is gone), which stay new."""
        unrouted = []
        for message in messages:
            self._messages[message.id] = message
            if message.state != NEW or message.callback in self.acd.interactions:
                continue
            try:
                self._call_back(message)
            except NotFound:
                self._callbacks.pop(message.callback)
                unrouted.append(message)
        return unrouted

    def take_changes(self) -> list[Voicemail]:
        """The messages left or changed since the last call (for writing them behind)."""
        changed = [self._messages[m] for m in sorted(self._changed) if m in self._messages]
        self._changed = set()
        return changed

    def get(self, message_id: str) -> Voicemail:
        if message_id not in self._messages:
            raise NotFound(f"no voicemail {message_id!r}")
        return self._messages[message_id]

    def messages(self, queue: str | None = None) -> list[Voicemail]:
        """Messages in the order they were left, for one queue or all."""
        return [m for m in self._messages.values() if queue is None or m.queue == queue]
