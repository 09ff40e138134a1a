"""The drain swap between two instances of the telephony component.

A swap cannot move a call: its dialogs and media live in the old instance's sippy and
rtpengine. So the old instance keeps its calls until they end, and the new one takes
every new call; clients only ever talk to the active (new) instance, which speaks for
the old one's calls. The old instance's :class:`Successor` link long-polls the new
instance's ``handover`` method (authenticated by a token only the exported state
carries): it delivers the old instance's events (the new one numbers them into its own
log) and the results of commands, and takes the commands the new instance got for the
old one's calls, with the new instance's SIP address, where the old one relays new
dialogs (:mod:`caruso_telephony.sip.relay`). Each exchange also carries a snapshot of
the old instance's browser legs (:mod:`caruso_telephony.browserlegs`), which the new one
lists with its own, and its reply names the agents whose desk asked for theirs since the
last exchange, with how many seconds ago each last asked: their pages' signs of life for
the old instance. When the old instance holds no more calls it says ``done`` and stops;
the new one then binds the public SIP port.

Contract of :class:`Predecessors` (the new instance's side): :meth:`~Predecessors.adopt`
takes a predecessor's exported link (a chain of swaps hands links on: :meth:`~Predecessors.export`);
:meth:`~Predecessors.owner` says whose call an id is; :meth:`~Predecessors.browser_legs`
lists an agent's browser legs held by predecessors (and notes the agent's page as seen for
the next exchange); :meth:`~Predecessors.relay` queues a command for the owner and waits
up to ``COMMAND_TIMEOUT`` seconds for its result (the owner's error is raised as it was
raised there); :meth:`~Predecessors.exchange` serves a link's long poll (at most ``POLL``
seconds, at once when the instance drains). A link silent for ``SILENCE`` seconds is given up: its calls are reported ``ended`` by
``shutdown``. Contract of :class:`Successor`: see its docstring.
"""
from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from typing import Any, Callable

import attrs

from caruso_core.credentials import same
from caruso_core.errors import CarusoError, NotAuthorized, ServiceError, Unavailable

COMMAND_TIMEOUT = 10.0
POLL = 1.0
SILENCE = 30.0
BATCH = 500
RETRY = 1.0

log = logging.getLogger(__name__)


@attrs.define(eq=False)
class Link:
    """One predecessor: its token, its calls' ids and summaries, its browser legs (each with
    its ``agent``), when each agent's page last asked since the last exchange, its queued
    commands."""

    token: str
    calls: set[str]
    summaries: list[dict[str, Any]] = attrs.Factory(list)
    browsers: list[dict[str, Any]] = attrs.Factory(list)
    asked: dict[str, float] = attrs.Factory(dict)
    commands: list[dict[str, Any]] = attrs.Factory(list)
    results: dict[int, list[Any]] = attrs.Factory(dict)
    seen: float = attrs.Factory(time.monotonic)

    def export(self) -> dict[str, Any]:
        return {"token": self.token, "calls": sorted(self.calls), "summaries": self.summaries,
                "browsers": self.browsers}


class Predecessors:
    """See the module's contract. ``emit(event)`` numbers a predecessor's event into this
    instance's log; ``sip()`` is this instance's SIP address for new dialogs; ``draining``
    is the host's flag."""

    def __init__(self, emit: Callable[[dict[str, Any]], None], sip: Callable[[], dict[str, Any]],
                 draining: threading.Event, on_done: Callable[[], None]) -> None:
        self.emit = emit
        self.sip = sip
        self.draining = draining
        self.on_done = on_done
        self._links: list[Link] = []
        self._numbers = itertools.count(1)
        self._changed = threading.Condition()

    def adopt(self, state: dict[str, Any]) -> None:
        """Take a link; an instance of an earlier version hands on no ``browsers``."""
        with self._changed:
            self._links.append(Link(str(state["token"]), set(state["calls"]), list(state["summaries"]),
                                    list(state.get("browsers", []))))

    def export(self) -> list[dict[str, Any]]:
        with self._changed:
            return [link.export() for link in self._links]

    def __len__(self) -> int:
        with self._changed:
            return len(self._links)

    def owner(self, call: str) -> Link | None:
        with self._changed:
            return next((link for link in self._links if call in link.calls), None)

    def summaries(self) -> list[dict[str, Any]]:
        with self._changed:
            return [summary for link in self._links for summary in link.summaries]

    def browser_legs(self, agent: str) -> list[dict[str, Any]]:
        with self._changed:
            legs = []
            for link in self._links:
                mine = [leg for leg in link.browsers if leg.get("agent") == agent]
                if mine:
                    link.asked[agent] = time.monotonic()
                    legs += mine
        return [{key: value for key, value in leg.items() if key != "agent"} for leg in legs]

    def relay(self, link: Link, method: str, args: list[Any]) -> Any:
        """Run ``method(*args)`` on the predecessor that owns the call; its result."""
        deadline = time.monotonic() + COMMAND_TIMEOUT
        with self._changed:
            number = next(self._numbers)
            link.commands.append({"id": number, "method": method, "args": list(args)})
            self._changed.notify_all()
            while number not in link.results:
                left = deadline - time.monotonic()
                if left <= 0 or link not in self._links:
                    link.commands = [command for command in link.commands if command["id"] != number]
                    raise Unavailable(f"the instance draining call {args[0]} did not answer within "
                                      f"{COMMAND_TIMEOUT:g}s")
                self._changed.wait(left)
            outcome = link.results.pop(number)
        if outcome[0] == "ok":
            return outcome[1]
        raise outcome[1]

    def exchange(self, token: str, events: list[dict[str, Any]], results: list[list[Any]],
                 summaries: list[dict[str, Any]], done: bool,
                 browsers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Serve a link's long poll (``browsers`` is None from an instance of an earlier
        version): ``{"commands", "sip", "seen"}``, ``seen`` the agents whose page asked, each
        with the seconds since it last asked."""
        link = self._link(token)
        for event in events[:BATCH]:
            self.emit(event)
            if event.get("event") == "ended":
                link.calls.discard(event.get("call"))
        with self._changed:
            for number, *outcome in results:
                link.results[int(number)] = outcome
            link.summaries, link.seen = list(summaries), time.monotonic()
            link.browsers = list(browsers or [])[:BATCH]
            if done:
                self._links.remove(link)
            self._changed.notify_all()
            if done:
                commands: list[dict[str, Any]] = []
            else:
                deadline = time.monotonic() + POLL
                while not link.commands and not self.draining.is_set() and (left := deadline - time.monotonic()) > 0:
                    self._changed.wait(left)
                commands, link.commands = link.commands, []
            now = time.monotonic()
            seen, link.asked = {agent: now - asked for agent, asked in link.asked.items()}, {}
        if done:
            self.on_done()
        return {"commands": commands, "sip": self.sip(), "seen": seen}

    def _link(self, token: Any) -> Link:
        with self._changed:
            for link in self._links:
                if same(token, link.token):
                    return link
        raise NotAuthorized("no draining instance has this handover token")

    def give_up_silent(self) -> None:
        """Report the calls of links silent too long as ended; forget the links."""
        now = time.monotonic()
        with self._changed:
            silent = [link for link in self._links if now - link.seen > SILENCE]
            for link in silent:
                self._links.remove(link)
            self._changed.notify_all()
        for link in silent:
            log.warning("a draining instance went silent; its %d call(s) are given up", len(link.calls))
            for call in sorted(link.calls):
                self.emit({"event": "ended", "call": call, "by": "shutdown"})
        if silent:
            self.on_done()


class Successor:
    """The old instance's link to the instance that took over, in a thread of its own.

    ``active()`` is a proxy of the active instance; ``drained()`` says the old instance
    holds no call any more; ``pending(after)`` gives its events with ``seq > after`` and
    the last seq; ``run(method, args)`` runs a command on its own calls; ``forward_to(sip)``
    points its relay at the successor; ``browsers()`` is the snapshot of its browser legs and
    ``pages_seen(ages)`` takes the agents whose page asked the successor, each with the
    seconds since it last asked. The loop exchanges until it said ``done`` (then
    ``finished`` is set) or :meth:`stop` is called; an exchange that fails is retried
    every ``RETRY`` seconds while the old instance goes on with its calls.
    """

    def __init__(self, *, active: Callable[[], Any], token: str, after: int, drained: Callable[[], bool],
                 pending: Callable[[int], tuple[list[dict[str, Any]], int]], summaries: Callable[[], list[Any]],
                 run: Callable[[str, list[Any]], Any], forward_to: Callable[[dict[str, Any]], None],
                 browsers: Callable[[], list[dict[str, Any]]], pages_seen: Callable[[dict[str, float]], None]) -> None:
        self.active = active
        self.token = token
        self.after = after
        self.drained = drained
        self.pending = pending
        self.summaries = summaries
        self.run = run
        self.forward_to = forward_to
        self.browsers = browsers
        self.pages_seen = pages_seen
        self.finished = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="telephony-handover", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(COMMAND_TIMEOUT + POLL)

    def _loop(self) -> None:
        results: list[list[Any]] = []
        proxy = None
        while not self._stopping.is_set():
            done = self.drained()
            events, last = self.pending(self.after)
            try:
                proxy = proxy or self.active()
                reply = proxy.handover(self.token, events[:BATCH], results, self.summaries(),
                                       done and len(events) <= BATCH, self.browsers())
            except CarusoError as error:
                log.warning("handover to the active instance failed (%s); retrying", error)
                proxy = None
                self._stopping.wait(RETRY)
                continue
            self.after = events[BATCH - 1]["seq"] if len(events) > BATCH else last
            results = []
            if done and len(events) <= BATCH:
                self.finished.set()
                return
            self.forward_to({name: tuple(address) for name, address in reply["sip"].items()})
            self.pages_seen(dict(reply.get("seen", {})))
            for command in reply["commands"]:
                results.append(self._execute(command))

    def _execute(self, command: dict[str, Any]) -> list[Any]:
        try:
            return [command["id"], "ok", self.run(command["method"], command["args"])]
        except CarusoError as error:        # crosses the wire as its class (caruso_core.errors)
            return [command["id"], "error", error]
        except Exception as error:          # reported to the waiting client, as the host would
            log.exception("handed-over command %s failed", command["method"])
            return [command["id"], "error", ServiceError(f"{type(error).__name__}: {error}")]


def new_token() -> str:
    return secrets.token_urlsafe(24)
