"""IVR: a dialog script answers a voice call before the ACD; its outcome routes the call.

An :class:`IvrMenu` names a script of the script engine, the entry ``numbers`` it
answers (none: every number no other menu names) and ``routes`` from outcomes to
targets: a queue name, ``"voicemail:QUEUE"`` (the caller leaves a message for that
queue) or ``"self_service"`` (the call ends in the IVR); other outcomes go to
``default``. The script's context has ``caller`` and ``customer_id``.

:class:`Ivr` runs the menus through any object with the IVR methods of
``caruso.scripts/1`` (``ivr_begin(script, context)``, ``ivr_press(session, keys)``,
returning turns ``{session, prompt, done, outcome}``): the service's client proxy, or
the service in process. Everything else happens under ``lock`` (the server's lock around
the ACD, ``with lock:``); those calls are made outside it, so a slow script engine never
holds up routing.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, ContextManager, Iterable, Mapping

import attrs

from caruso_core.errors import ConfigError, Conflict, NotFound

from caruso_comm.acd import ACD
from caruso_comm.events import IVR_ABANDON, IVR_END, IVR_START
from caruso_comm.voicemail import VoicemailBox

SELF_SERVICE = "self_service"
VOICEMAIL_PREFIX = "voicemail:"


@attrs.frozen
class IvrMenu:
    """Which script answers which entry numbers, and where its outcomes lead."""

    script: str
    default: str
    routes: dict[str, str] = attrs.field(factory=dict, converter=dict)
    numbers: tuple[str, ...] = attrs.field(default=(), converter=tuple)


def menu_from_dict(definition: Mapping[str, Any]) -> IvrMenu:
    """An :class:`IvrMenu` from plain data; ConfigError names missing or unknown keys."""
    known = {field.name for field in attrs.fields(IvrMenu)}
    unknown = sorted(set(definition) - known)
    missing = sorted({"script", "default"} - set(definition))
    if unknown or missing:
        raise ConfigError(f"IVR menu {definition.get('script', '?')!r}: "
                          + (f"unknown keys {', '.join(unknown)}" if unknown else f"no {', '.join(missing)}")
                          + f" (keys: {', '.join(sorted(known))})")
    return IvrMenu(**definition)


def menus_from(setting: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None) -> list[IvrMenu]:
    """The menus of the server's ``ivr`` setting: one menu's definition or a list of them."""
    definitions = [setting] if isinstance(setting, Mapping) else list(setting or ())
    return [menu_from_dict(definition) for definition in definitions]


def _voicemail_queue(target: str) -> str | None:
    return target[len(VOICEMAIL_PREFIX):] if target.startswith(VOICEMAIL_PREFIX) else None


@attrs.define
class _Call:
    menu: IvrMenu
    caller: str | None
    customer: str | None
    to: str | None
    session: str | None = None
    target: str | None = None


class Ivr:
    """Voice calls in IVR menus; ``voicemail`` is needed for voicemail targets."""

    def __init__(self, acd: ACD, scripts: Callable[[], Any], menus: Iterable[IvrMenu],
                 voicemail: VoicemailBox | None = None,
                 lock: ContextManager[Any] = contextlib.nullcontext()) -> None:
        self.acd, self.voicemail = acd, voicemail
        self.menus = list(menus)
        self._scripts, self._lock = scripts, lock
        self._calls: dict[str, _Call] = {}
        self._by_number: dict[str, IvrMenu] = {}
        self._catch_all: IvrMenu | None = None
        for menu in self.menus:
            self._check(menu)
            for number in menu.numbers:
                if number in self._by_number:
                    raise ConfigError(f"IVR: number {number!r} is answered by {self._by_number[number].script!r} "
                                      f"and {menu.script!r}")
                self._by_number[number] = menu
            if not menu.numbers:
                if self._catch_all is not None:
                    raise ConfigError(f"IVR: {self._catch_all.script!r} and {menu.script!r} both answer every "
                                      "number; give one of them its numbers")
                self._catch_all = menu

    def _check(self, menu: IvrMenu) -> None:
        for target in [*menu.routes.values(), menu.default]:
            queue = _voicemail_queue(target) or target
            if target != SELF_SERVICE and queue not in self.acd.queues:
                raise ConfigError(f"IVR {menu.script!r}: target {target!r} is no queue, "
                                  f"'voicemail:QUEUE' or '{SELF_SERVICE}'")
            if _voicemail_queue(target) is not None and self.voicemail is None:
                raise ConfigError(f"IVR {menu.script!r}: target {target!r} needs a voicemail box")

    def menu_for(self, to: str | None) -> IvrMenu:
        """The menu answering entry number ``to`` (NotFound if none does)."""
        menu = self._by_number.get(to or "", self._catch_all)
        if menu is None:
            raise NotFound(f"no IVR answers number {to!r}")
        return menu

    def describe(self) -> list[dict[str, Any]]:
        """The menus as plain data: ``script``, ``numbers`` (none: every number no other menu
        names), ``routes``, ``default``."""
        return [dict(attrs.asdict(menu), numbers=list(menu.numbers)) for menu in self.menus]

    def call(self, call_id: str, to: str | None = None, caller: str | None = None,
             customer: str | None = None) -> dict[str, Any]:
        """A call to entry number ``to`` reaches the IVR menu answering it (NotFound if none
        does): the first turn ``{"prompt", "done", "target"}`` (see :meth:`press`)."""
        menu = self.menu_for(to)
        call = _Call(menu, caller, customer, to)
        with self._lock:
            if call_id in self._calls or call_id in self.acd.interactions:
                raise Conflict(f"call {call_id!r} exists already")
            self._calls[call_id] = call
        try:
            turn = self._scripts().ivr_begin(menu.script, {"caller": caller, "customer_id": customer})
        except BaseException:
            with self._lock:
                self._calls.pop(call_id, None)
            raise
        with self._lock:
            call.session = turn["session"]
            self.acd.record(IVR_START, interaction=call_id, script=menu.script, session=call.session,
                            caller=caller, customer=customer)
            return self._turn(call_id, call, turn)

    def press(self, call_id: str, keys: str) -> dict[str, Any]:
        """The caller keyed ``keys`` (digits, ``*``, ``#``): the next turn ``{"prompt", "done",
        "target"}``; when done, the call went to ``target``: a queue (it is an interaction there
        now, with the same id), ``voicemail:QUEUE`` (the caller may :meth:`leave_message`), or
        ``self_service``."""
        with self._lock:
            call = self._call(call_id)
            if call.target is not None:
                raise Conflict(f"call {call_id!r} has left the IVR for {call.target!r}")
            if call.session is None:
                raise Conflict(f"call {call_id!r} is still being answered")
        turn = self._scripts().ivr_press(call.session, keys)
        with self._lock:
            if self._calls.get(call_id) is not call:
                raise NotFound(f"call {call_id!r} hung up")
            return self._turn(call_id, call, turn)

    def no_input(self, call_id: str) -> dict[str, Any]:
        """The caller keyed nothing however often the menu asked: the call goes to the menu's
        ``default`` (event ``ivr_end`` with no outcome); the last turn as :meth:`press` gives it."""
        with self._lock:
            call = self._call(call_id)
            if call.target is not None:
                raise Conflict(f"call {call_id!r} has left the IVR for {call.target!r}")
            return self._turn(call_id, call, {"prompt": None, "done": True, "outcome": None})

    def leave_message(self, call_id: str, content: bytes | str) -> dict[str, Any]:
        """The caller the IVR routed to voicemail left ``content``; returns the message."""
        with self._lock:
            call = self._call(call_id)
            queue = _voicemail_queue(call.target or "")
            if queue is None:
                raise Conflict(f"call {call_id!r} was not routed to voicemail")
            message = self.voicemail.deposit(queue, content, caller=call.caller, customer=call.customer)
            del self._calls[call_id]
            return message.to_dict()

    def hang_up(self, call_id: str) -> None:
        """The caller hung up while in the IVR (event ``ivr_abandon``) or before leaving a message."""
        with self._lock:
            call = self._calls.pop(call_id, None)
            if call is not None and call.target is None:
                self.acd.record(IVR_ABANDON, interaction=call_id, script=call.menu.script)

    def export_state(self) -> list[dict[str, Any]]:
        """The calls in the IVR as plain data (their dialogs live in the script engine)."""
        return [dict(attrs.asdict(call), id=call_id) for call_id, call in self._calls.items()]

    def import_state(self, calls: list[dict[str, Any]]) -> None:
        """Hold exactly the calls exported by :meth:`export_state`."""
        self._calls.clear()
        for data in calls:
            fields = dict(data)
            call_id = fields.pop("id")
            self._calls[call_id] = _Call(**dict(fields, menu=IvrMenu(**fields["menu"])))

    def _call(self, call_id: str) -> _Call:
        if call_id not in self._calls:
            raise NotFound(f"no call {call_id!r} in the IVR")
        return self._calls[call_id]

    def _turn(self, call_id: str, call: _Call, turn: Mapping[str, Any]) -> dict[str, Any]:
        target = self._route(call_id, call, turn["outcome"]) if turn["done"] else None
        return {"prompt": turn["prompt"], "done": turn["done"], "target": target, "keys": turn.get("keys")}

    def _route(self, call_id: str, call: _Call, outcome: str | None) -> str:
        call.target = call.menu.routes.get(outcome or "", call.menu.default)
        self.acd.record(IVR_END, interaction=call_id, script=call.menu.script, outcome=outcome,
                        target=call.target)
        if _voicemail_queue(call.target) is None:
            del self._calls[call_id]
            if call.target != SELF_SERVICE:
                self.acd.arrive(call.target, id=call_id, from_=call.caller, to=call.to,
                                customer=call.customer)
        return call.target
