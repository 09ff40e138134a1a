"""The SDK of ``caruso.scripts/1``: what a client of the script engine needs, without the engine.

- :data:`INTERFACE`, the interface id.
- Errors the interface raises besides the core's ``NotFound`` and ``Conflict``; they
  arrive on a client that imported this module as these classes: :class:`AnswerRejected`
  (an ``InvalidInput`` whose message is for the person answering) and :class:`DialogError`.
- Typed views of the plain data the interface returns: :class:`ScriptInfo`,
  :class:`DialogView` with its :class:`StepView`, :class:`SessionSummary`,
  :class:`IvrTurn`. ``from_wire(data)`` reads one (keys it does not know are ignored);
  ``wire()`` writes it as the engine sends it.
- Sequence numbers: every answer and every "back" names the ``seq`` of the view it was
  given for; :func:`seq_of` reads one from a form or a JSON body.
- :class:`Scripts`: the interface's methods over a service proxy, with typed results.
- :class:`SelfService`: the rules of self-service that every web front end applies.

Nothing here renders a step: each front end shows views with its own templates.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import attrs

from caruso_core.digits import digits
from caruso_core.errors import CarusoError, Conflict, InvalidInput, NotFound
from caruso_core.throttle import Throttle

INTERFACE = "caruso.scripts/1"
SEQ_LIMIT = 10**9
SESSION_ID = re.compile(r"[0-9a-f]{32}")


class AnswerRejected(InvalidInput):
    """An answer does not fit its question; the message is written for the person answering."""


class DialogError(CarusoError):
    """The dialog cannot continue (no transition applies, an action failed, ...)."""


class MissingSeq(InvalidInput):
    """An answer or "back" came without a valid ``seq`` of the step it was given for."""


class TooManyStarts(Exception):
    """A client address has started as many dialogs as it may in the last minute."""


def seq_of(value: Any) -> int:
    """The step number ``value`` names: a whole number from 0 to 999,999,999 (or its
    digits as text); MissingSeq for anything else (missing, null, a fraction, ``1e400``)."""
    if type(value) is int and 0 <= value < SEQ_LIMIT:
        return value
    if isinstance(value, str) and digits(value) and len(value) < 10:
        return int(value)
    raise MissingSeq("send the seq of the step answered, a whole number")


@attrs.frozen
class ScriptInfo:
    """A script the engine publishes; ``needs``: the context names it cannot start without
    (``customer_id``: it serves a known customer only)."""

    id: str
    version: str
    title: str
    description: str = ""
    needs: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "ScriptInfo":
        return cls(data["id"], data["version"], data["title"], data.get("description") or "",
                   tuple(data.get("needs") or ()))


@attrs.frozen
class Option:
    """A choice of a ``choice`` question: the answer ``value`` and its ``label``."""

    value: str
    label: str


@attrs.frozen
class StepView:
    """The step a dialog stands at, as shown to whoever answers it.

    ``kind`` is ``question``, ``info`` or ``end``. A question has a ``type`` (``choice``,
    ``yesno``, ``text``, ``number``, ``amount``, ``date``), ``required``, ``options``
    (choices), ``maxlength`` (text), the ``decimal`` mark (number and amount) and the
    ``currency`` an amount is in, when its script names one; an end
    step its ``outcome`` and, when the script declares them, the ``disposition`` and the
    ``next`` action it suggests. ``line`` is the step's line in the script file. ``given``
    is a question's earlier answer as text, when ``back`` returned to it (shown again).
    """

    id: str
    kind: str
    text: str | None = None
    type: str | None = None
    required: bool = False
    options: tuple[Option, ...] = ()
    maxlength: int | None = None
    decimal: str | None = None
    outcome: str | None = None
    line: int | None = None
    disposition: str | None = None
    next: str | None = None
    given: str | None = None
    currency: str | None = None

    @property
    def is_question(self) -> bool:
        return self.kind == "question"

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "StepView":
        return cls(data["id"], data["kind"], data.get("text"), data.get("type"), bool(data.get("required")),
                   tuple(Option(o["value"], o["label"]) for o in data.get("options") or ()),
                   data.get("maxlength"), data.get("decimal"), data.get("outcome"), data.get("line"),
                   data.get("disposition"), data.get("next"), data.get("given"), data.get("currency"))

    def wire(self, line: bool = True) -> dict[str, Any]:
        """The step as the interface sends it (without ``line`` when ``line`` is false)."""
        shown: dict[str, Any] = {"id": self.id, "kind": self.kind}
        if line and self.line is not None:
            shown["line"] = self.line
        if self.is_question:
            shown.update(type=self.type, text=self.text, required=self.required,
                         options=[{"value": o.value, "label": o.label} for o in self.options],
                         maxlength=self.maxlength)
            if self.decimal is not None:
                shown["decimal"] = self.decimal
            if self.given is not None:
                shown["given"] = self.given
            if self.currency is not None:
                shown["currency"] = self.currency
        elif self.kind in ("info", "end"):
            shown["text"] = self.text
            if self.kind == "end":
                shown["outcome"] = self.outcome
                shown.update((key, value) for key, value in (("disposition", self.disposition),
                                                             ("next", self.next)) if value is not None)
        return shown


@attrs.frozen
class DialogView:
    """A dialog as ``begin``, ``current``, ``answer``, ``back`` and ``finish`` return it.

    ``status`` is ``active``, ``ended`` or ``abandoned`` (with its ``outcome``); ``seq``
    is what the next answer or "back" must name. ``answers``, ``variables`` (of the main
    script), ``actions`` (the most recent runs), ``trail`` (steps visited) and
    ``context`` are plain data: for the agent's side, never for an anonymous customer.
    """

    session: str
    script: str
    title: str
    seq: int
    status: str
    outcome: str | None
    step: StepView
    can_go_back: bool
    answers: dict[str, Any] = attrs.field(factory=dict)
    variables: dict[str, Any] = attrs.field(factory=dict)
    actions: list[dict[str, Any]] = attrs.field(factory=list)
    trail: list[str] = attrs.field(factory=list)
    context: dict[str, Any] = attrs.field(factory=dict)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "DialogView":
        return cls(data["session"], data["script"], data["title"], data["seq"], data["status"], data["outcome"],
                   StepView.from_wire(data["step"]), bool(data["can_go_back"]), dict(data.get("answers") or {}),
                   dict(data.get("variables") or {}), list(data.get("actions") or []),
                   list(data.get("trail") or []), dict(data.get("context") or {}))

    def wire(self) -> dict[str, Any]:
        return {**attrs.asdict(self, recurse=False), "step": self.step.wire()}


@attrs.frozen
class SessionSummary:
    """A session as ``sessions()`` lists it: ``step`` is the id of the step it stands at."""

    session: str
    script: str
    status: str
    outcome: str | None
    seq: int
    step: str
    updated: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "SessionSummary":
        return cls(*(data[field.name] for field in attrs.fields(cls)))


@attrs.frozen
class IvrTurn:
    """A turn of a dialog run as a phone menu: the ``prompt`` to speak, whether the
    dialog is ``done`` (with its ``outcome``), and while it is not, how the answer is
    keyed: ``keys`` is ``"one"`` (a single key picks an option) or ``"until_hash"`` (keys
    up to ``#``; a lone ``*`` goes back)."""

    session: str
    prompt: str
    done: bool
    outcome: str | None
    keys: str | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "IvrTurn":
        return cls(*(data.get(field.name) for field in attrs.fields(cls)))


class Scripts:
    """``caruso.scripts/1`` over ``api`` (a client proxy, e.g. ``client.get(INTERFACE)``, or
    the service in process), with typed results. Calls block: make them from a worker thread."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def scripts(self) -> list[ScriptInfo]:
        return [ScriptInfo.from_wire(s) for s in self.api.scripts()]

    def begin(self, script: str, context: Mapping[str, Any] | None = None) -> DialogView:
        return DialogView.from_wire(self.api.begin(script, dict(context or {})))

    def current(self, session: str) -> DialogView:
        return DialogView.from_wire(self.api.current(session))

    def answer(self, session: str, answer: Any = None, seq: int | None = None) -> DialogView:
        """Answer the current step (None continues an information item); AnswerRejected."""
        return DialogView.from_wire(self.api.answer(session, answer, seq))

    def back(self, session: str) -> DialogView:
        return DialogView.from_wire(self.api.back(session))

    def finish(self, session: str, outcome: str = "abandoned") -> DialogView:
        return DialogView.from_wire(self.api.finish(session, outcome))

    def sessions(self, status: str | None = "active", limit: int = 100) -> list[SessionSummary]:
        return [SessionSummary.from_wire(s) for s in self.api.sessions(status, limit)]

    def ivr_begin(self, script: str, context: Mapping[str, Any] | None = None) -> IvrTurn:
        return IvrTurn.from_wire(self.api.ivr_begin(script, dict(context or {})))

    def ivr_press(self, session: str, keys: str) -> IvrTurn:
        return IvrTurn.from_wire(self.api.ivr_press(session, keys))


@attrs.frozen
class Reply:
    """What a step form led to. ``problem`` None: the dialog moved on to ``view``. Otherwise
    ``view`` is to be shown again with the ``entered`` answer: ``rejected`` (``message`` is
    the engine's, for the person answering), ``incomplete`` (no valid ``seq``) or ``stale``
    (the form was for an earlier step; ``view`` is where the dialog stands now)."""

    view: DialogView
    problem: str | None = None
    message: str | None = None
    entered: str | None = None


class SelfService:
    """The rules of self-service for anonymous or signed-in customers over ``scripts``,
    whatever web page shows the dialogs:

    - only ``published`` scripts (None: all) are listed, started and continued;
    - one client address starts at most ``starts_per_minute`` dialogs a minute;
    - a dialog is continued only with the context it was started with (the context comes
      from the server, e.g. a signed-in customer's key, never from the request), and its
      session id is the only other key to it;
    - every answer and every "back" names the ``seq`` of its step.

    Refusals are NotFound (unknown, unpublished or someone else's dialog), TooManyStarts,
    MissingSeq, Conflict (an earlier step's answer) and AnswerRejected; the messages are
    not meant for customers, except AnswerRejected's.
    """

    def __init__(self, scripts: Scripts, published: Iterable[str] | None = None,
                 starts_per_minute: int = 30) -> None:
        self.api = scripts
        self._allowed = None if published is None else frozenset(published)
        self._starts = Throttle(starts_per_minute, 60)

    def visible(self, script: str) -> bool:
        return self._allowed is None or script in self._allowed

    def scripts(self) -> list[ScriptInfo]:
        return [s for s in self.api.scripts() if self.visible(s.id)]

    def begin(self, script: str, context: Mapping[str, Any], address: str) -> DialogView:
        if not self.visible(script):
            raise NotFound(f"script {script!r} is not published")
        if self._starts.wait(address):
            raise TooManyStarts(f"{address} started too many dialogs in the last minute")
        self._starts.hit(address)
        return self.api.begin(script, context)

    def current(self, session: str, context: Mapping[str, Any]) -> DialogView:
        if not SESSION_ID.fullmatch(session):
            raise NotFound("not a session id")
        view = self.api.current(session)
        if not self.visible(view.script) or view.context != dict(context):
            raise NotFound("no such dialog for this visitor")
        return view

    def reply(self, view: DialogView, answer: Any, seq: Any, back: bool = False) -> DialogView:
        """Answer the step of ``view``, or go back; ``seq`` is required (see :func:`seq_of`)."""
        number = seq_of(seq)
        if back:
            if number != view.seq:
                raise Conflict("the dialog has moved on")
            return self.api.back(view.session)
        return self.api.answer(view.session, answer, number)

    def submit(self, session: str, context: Mapping[str, Any], answer: str | None, seq: Any,
               back: bool = False) -> Reply:
        """A step form's ``answer``, ``seq`` and ``back`` applied to the dialog ``session``."""
        view = self.current(session, context)
        try:
            return Reply(self.reply(view, answer, seq, back))
        except MissingSeq:
            return Reply(view, "incomplete", entered=answer)
        except AnswerRejected as error:
            return Reply(view, "rejected", error.message, answer)
        except Conflict:
            return Reply(self.current(session, context), "stale")
