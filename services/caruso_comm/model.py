"""The ACD's value objects: queues, agents, interactions and escalation steps.

Times are seconds on the ACD's clock (Unix time for the real server, virtual
seconds for the simulator). Agents and interactions are mutable records owned by
the ACD; callers read them but change them only through :class:`caruso_comm.acd.ACD`.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any

import attrs

from caruso_core.errors import ConfigError

if TYPE_CHECKING:
    from caruso_comm.routing import Readiness

VOICE = "voice"
TO_VOICEMAIL = "voicemail"      # the overflow target that ends an interaction in voicemail


class AgentStatus:
    """What the agent sets."""

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    BREAK = "break"
    ALL = frozenset({LOGGED_OUT, AVAILABLE, BREAK})


class AgentState:
    """What the system sets, from the agent's interactions."""

    IDLE = "idle"
    OFFERED = "offered"
    BUSY = "busy"
    WRAP_UP = "wrap_up"


class InteractionState:
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTED = "connected"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    VOICEMAIL = "voicemail"
    CLOSED = "closed"           # waiting when the server stopped, and no channel held it any more
    ENDED = frozenset({COMPLETED, ABANDONED, VOICEMAIL, CLOSED})


def utc_iso(seconds: float | None) -> str | None:
    """A time in seconds (Unix time) as an ISO 8601 UTC datetime without offset, as the
    storage service takes datetimes."""
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None).isoformat()


def _levels(value: dict[str, int]) -> dict[str, int]:
    return {str(skill): int(level) for skill, level in dict(value).items()}


MAX_DISPOSITIONS = 20
MAX_DISPOSITION = 40
MAX_QUEUE_NAME = 64
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _queue_name(_queue: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_QUEUE_NAME or value != value.strip() \
            or CONTROL.search(value):
        raise ValueError(f"name is 1 to {MAX_QUEUE_NAME} characters without control characters or spaces at "
                         f"its ends, not {str(value)[:MAX_QUEUE_NAME + 1]!r}")


def _seconds(above_zero: bool = False) -> Any:
    """attrs validator: a finite number of seconds, 0 or more (above 0 with ``above_zero``)."""
    def check(_queue: Any, attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not (0 < value if above_zero else 0 <= value):
            raise ValueError(f"{attribute.name} is a number of seconds {'above 0' if above_zero else '0 or more'}, "
                             f"not {value!r}")
    return check


def _dispositions(value: Any) -> tuple[str, ...]:
    """A queue's dispositions: a list of at most ``MAX_DISPOSITIONS`` distinct names of 1 to
    ``MAX_DISPOSITION`` characters; ValueError otherwise."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or len(value) > MAX_DISPOSITIONS:
        raise ValueError(f"dispositions must be a list of at most {MAX_DISPOSITIONS} names")
    names = tuple(v.strip() if isinstance(v, str) else v for v in value)
    if not all(isinstance(v, str) and 0 < len(v) <= MAX_DISPOSITION for v in names) or len(set(names)) < len(names):
        raise ValueError(f"dispositions must be distinct names of 1 to {MAX_DISPOSITION} characters")
    return names


@attrs.frozen
class Escalation:
    """After ``after`` seconds of waiting, an interaction may also go to agents that have
    ``skills`` (a relaxed requirement) or that serve ``queues`` (widening)."""

    after: float
    skills: dict[str, int] | None = attrs.field(default=None, converter=attrs.converters.optional(_levels))
    queues: tuple[str, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen
class Queue:
    """A queue: who may take its interactions, in which order, and what happens when it is full.

    ``skills`` is the requirement (skill -> minimum level); ``overflow`` is ``"voicemail"``,
    another queue's name, or None (the interaction is abandoned with reason ``max_wait``).
    ``max_wait`` and ``max_length`` of 0 mean no limit. ``max_no_answer`` consecutive
    offer timeouts put the agent on break with reason ``no answer`` (0: never).
    ``dispositions`` are those an agent's desk offers when completing (none: the desk's own).
    """

    name: str = attrs.field(validator=_queue_name)
    strategy: str = "longest_idle"
    skills: dict[str, int] = attrs.field(factory=dict, converter=_levels)
    channel: str = VOICE
    priority: int = 0
    sl_target: float = attrs.field(default=20.0, validator=_seconds())
    max_wait: float = attrs.field(default=0.0, validator=_seconds())
    max_length: int = 0
    overflow: str | None = None
    offer_timeout: float = attrs.field(default=20.0, validator=_seconds(above_zero=True))
    wrap_up: float = attrs.field(default=0.0, validator=_seconds())
    max_no_answer: int = 3
    escalation: tuple[Escalation, ...] = attrs.field(default=(), converter=tuple)
    dispositions: tuple[str, ...] = attrs.field(default=(), converter=_dispositions)


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Agent:
    """An agent and the counters the routing strategies order by. ``readiness`` holds, for
    each channel the agent is ready on, the readiness the routing strategies were given
    (see :mod:`caruso_comm.routing`)."""

    id: str
    skills: dict[str, int] = attrs.field(factory=dict, converter=_levels)
    capacity: dict[str, int] = attrs.field(factory=lambda: {VOICE: 1})
    status: str = AgentStatus.LOGGED_OUT
    reason: str = ""
    state: str = AgentState.IDLE
    idle_since: float = 0.0
    calls: int = 0
    talk_time: float = 0.0
    misses: int = 0
    offers: set[str] = attrs.field(factory=set)
    connected: set[str] = attrs.field(factory=set)
    wrapping: dict[str, tuple[str, float]] = attrs.field(factory=dict)
    load: dict[str, int] = attrs.field(factory=dict)
    readiness: dict[str, Readiness] = attrs.field(factory=dict)

    def free(self, channel: str) -> int:
        """Interactions of ``channel`` the agent could still take now."""
        if self.status != AgentStatus.AVAILABLE:
            return 0
        return self.capacity.get(channel, 0) - self.load.get(channel, 0)

    def snapshot(self) -> dict[str, Any]:
        """Plain data for callers."""
        return {"id": self.id, "skills": dict(self.skills), "capacity": dict(self.capacity),
                "status": self.status, "reason": self.reason, "state": self.state,
                "calls": self.calls, "talk_time": self.talk_time,
                "interactions": sorted(self.offers | self.connected | set(self.wrapping)),
                "free": {channel: self.free(channel) for channel in sorted(self.capacity)}}


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)
class Interaction:
    """A call, chat, e-mail or callback task, from arrival to its end."""

    id: str
    queue: str
    channel: str = VOICE
    direction: str = "inbound"
    customer: str | None = None
    from_: str | None = None
    to: str | None = None
    priority: int = 0
    state: str = InteractionState.WAITING
    created: float = 0.0
    entered: float = 0.0
    connected_at: float | None = None
    ended: float | None = None
    agent: str | None = None
    offers: set[str] = attrs.field(factory=set)
    declined: set[str] = attrs.field(factory=set)
    stage: int = 0
    token: int = 0
    passed_over: str | None = None      # the agent who last transferred it: not offered it again, but see recall
    handed_to: str | None = None        # the agent it was transferred to directly, until they answer
    returns_to: str | None = None       # the agent who handed it on, after a recall, until someone answers

    def enter(self, queue: str, at: float) -> None:
        """It waits in ``queue`` from ``at``, at its first stage, for any of its agents but the
        one who transferred it (also in a queue it overflows to)."""
        self.queue, self.entered, self.stage = queue, at, 0
        self.state, self.agent, self.handed_to, self.returns_to = InteractionState.WAITING, None, None, None
        self.declined = {self.passed_over} if self.passed_over else set()

    def transferred_by(self, agent: str, at: float, to_agent: str | None = None) -> None:
        """``agent`` hands it on at ``at``, to a queue or directly ``to_agent`` (its wait starts
        again): it is not offered to them again unless the transfer to ``to_agent`` fails
        (:meth:`recall`)."""
        self.state, self.agent, self.passed_over, self.declined = InteractionState.WAITING, None, agent, {agent}
        self.entered, self.stage, self.handed_to, self.returns_to = at, 0, to_agent, None

    def connected_to(self, agent: str, at: float) -> None:
        """``agent`` answers it."""
        self.state, self.agent, self.connected_at = InteractionState.CONNECTED, agent, at
        self.handed_to = self.returns_to = None

    def decline(self, agent: str) -> None:
        """``agent`` rejects it or lets it ring out: it is not offered to them again in this queue;
        if it was handed to them directly, the transfer failed (:meth:`recall`)."""
        self.declined.add(agent)
        if agent == self.handed_to:
            self.recall()
        elif agent == self.returns_to:
            self.returns_to = None

    def recall(self) -> None:
        """The transfer to ``handed_to`` failed (declined, rung out, or the offer withdrawn): the
        agent who handed it on may take it again (``returns_to``, until someone answers), as a
        telephone system recalls a transfer nobody took."""
        if self.handed_to is not None:
            self.declined.discard(self.passed_over)
            self.returns_to, self.passed_over, self.handed_to = self.passed_over, None, None

    def snapshot(self) -> dict[str, Any]:
        """Plain data for callers."""
        return {"id": self.id, "queue": self.queue, "channel": self.channel,
                "direction": self.direction, "customer": self.customer, "from": self.from_,
                "to": self.to, "priority": self.priority, "state": self.state,
                "created": self.created, "entered": self.entered,
                "connected_at": self.connected_at, "ended": self.ended, "agent": self.agent,
                "offers": sorted(self.offers), "transferred_by": self.passed_over, "returns_to": self.returns_to}


def queue_from_dict(definition: dict[str, Any]) -> Queue:
    """A :class:`Queue` from plain data (escalation steps as dicts); ConfigError names bad keys."""
    known = {field.name for field in attrs.fields(Queue)}
    unknown = sorted(set(definition) - known)
    if unknown or "name" not in definition:
        raise ConfigError(f"queue definition {definition.get('name', '?')!r}: "
                          + (f"unknown keys {', '.join(unknown)}" if unknown else "no 'name'")
                          + f" (keys: {', '.join(sorted(known))})")
    fields = dict(definition)
    try:
        fields["escalation"] = [Escalation(**step) for step in fields.get("escalation", ())]
        return Queue(**fields)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"queue definition {str(definition['name'])[:MAX_QUEUE_NAME + 1]!r}: {error}") from None
