"""Running dialogs in process: sessions, steps, answers, transitions and actions.

Contract of :class:`Engine` (it keeps no state of its own besides caches; a
:class:`Session` holds everything and is plain data through ``stored()``):

- ``start`` creates a session, loads the script's bindings through the storage
  service, gives variables their initial values and enters the start step;
- a question waits for an answer, an info item for a continue (``answer(None)``; what
  else is sent to it is ignored), a sub-script step runs the sub-script (its outcome
  becomes the value of the step's id), an end step ends the dialog with its outcome;
- ``answer`` checks the answer (``answers.accept``), takes the first transition whose
  condition holds, applies its assignments and enters the target (through sub-scripts
  until a step waits for input), shows that step, and only then runs the actions of the
  transitions taken, in order. When anything fails (a rejected answer, a bound of
  ``caruso_scripts.bounds`` exceeded, the next step's text, a failing action, no
  transition applies) the session is left as it was, except that actions which
  completed are remembered; ``start`` then makes no session;
- one answer (and one ``view``) does at most the work of one
  :class:`~caruso_scripts.bounds.Budget`, and all data of a session (answers,
  variables, records, context) stays within ``LIMITS.size``, so a session always
  stores and travels as plain data;
- numbers are read from text and shown as the script's ``locale`` says, else as the
  engine's ``locale`` (``caruso_scripts.numbers``);
- every answer has a sequence number ``seq``: an answer sent again with the ``seq`` it
  was first sent with is recognized and not applied twice;
- an action runs at most once per place on the session's path: the place names every
  transition taken from the start, so a retried answer, and going back and taking the
  same transitions again (with the same or other answers), do not run it again;
- ``back`` returns to the state before the last answer (as far back as the history
  reaches: ``HISTORY`` answers and ``LIMITS.history`` of saved states); an ended
  dialog stays ended.
"""
from __future__ import annotations

import datetime
import hashlib
import time
import uuid
from typing import Any, Callable, Mapping

import attrs

from caruso_core.errors import CarusoError, ConfigError, Conflict, NotFound
from caruso_scripts import values
from caruso_scripts.actions import ActionContext, DialogAction, Outbox
from caruso_scripts.answers import accept
from caruso_scripts.bounds import LIMITS, Budget, measure, measure_all
from caruso_scripts.client import DialogError, DialogView, Option, StepView
from caruso_scripts.errors import ExpressionError
from caruso_scripts.expressions import Scope, as_text
from caruso_scripts.model import Action, End, Info, Question, Script, Step, SubScript, Transition
from caruso_scripts.numbers import NumberFormat, number_format

HISTORY = 50
TRAIL = 1000
LOGGED = 100
RECORD = LIMITS.size // 10
STORAGE = "caruso.storage/1"
NUMERIC = ("number", "amount")


@attrs.define
class Frame:
    """One running script: the root, or a sub-script reached through ``path``.

    ``names`` is what its expressions read (context, bindings, variables, answers);
    bindings, variables and answers change through :meth:`put` only, which keeps it up
    to date. ``scope`` is the engine's scope over ``names`` for the current turn.
    """

    path: list[str]
    step: str
    context: dict[str, Any]
    bound: dict[str, Any] = attrs.field(factory=dict)
    variables: dict[str, Any] = attrs.field(factory=dict)
    answers: dict[str, Any] = attrs.field(factory=dict)
    names: dict[str, Any] = attrs.field(init=False, eq=False, repr=False)
    scope: Scope | None = attrs.field(init=False, default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.names = {"context": self.context, **self.bound, **self.variables, **self.answers}

    def put(self, table: dict[str, Any], name: str, value: Any) -> None:
        """Set ``name`` in ``table`` (``bound``, ``variables`` or ``answers``) to ``value``."""
        table[name] = value
        self.names[name] = value

    def stored(self) -> dict[str, Any]:
        return {"path": list(self.path), "step": self.step, "context": values.stored(self.context),
                "bound": values.stored(self.bound), "variables": values.stored(self.variables),
                "answers": values.stored(self.answers)}


@attrs.define
class Turn:
    """One answer (or the start, or showing a step): its date, its budget of work and the
    actions planned on the way, run once the step after them has shown."""

    today: datetime.date
    budget: Budget = attrs.field(factory=Budget)
    planned: list["PlannedAction"] = attrs.field(factory=list)


@attrs.frozen
class PlannedAction:
    """An action of a transition taken, its parameters evaluated, waiting to run."""

    action: Action
    implementation: DialogAction
    params: dict[str, Any]
    context: ActionContext


@attrs.define
class Session:
    """A dialog in progress or ended; ``stored()`` / ``from_stored()`` round-trip it.

    ``position`` names the path of transitions taken from the start, ``depth`` counts its
    answers and ``size`` is the size of the data; ``history`` holds the earlier states
    for ``back``, one per answer up to this one, so the last is at ``depth - 1``
    (``state()``, plus ``total``: the sizes of the states up to this one, and ``given``: the
    answer given there as text); ``last`` is the last answer (to recognize a retry), or after
    ``back`` the answer it took back (``given``, shown again), ``actions`` the most recent actions run (at most
    ``LOGGED``, as plain data) and ``done`` the key of every action run that going back
    can reach again, with the depth of the state it ran from.
    """

    id: str
    script: str
    version: str
    context: dict[str, Any]
    frames: list[Frame]
    seq: int = 0
    status: str = "active"
    outcome: str | None = None
    history: list[dict[str, Any]] = attrs.field(factory=list)
    trail: list[str] = attrs.field(factory=list)
    actions: list[dict[str, Any]] = attrs.field(factory=list)
    done: dict[str, int] = attrs.field(factory=dict)
    position: str = ""
    depth: int = 0
    size: int = 0
    last: dict[str, Any] | None = None
    created: str = ""
    updated: str = ""

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def state(self) -> dict[str, Any]:
        """Where the dialog stands, in stored form: what ``back`` returns to."""
        return {"frames": [frame.stored() for frame in self.frames], "position": self.position, "size": self.size}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Stand where ``state`` says (the depth is the caller's to set)."""
        self.frames = [Frame(**values.typed(frame)) for frame in state["frames"]]
        self.position, self.size = state["position"], state["size"]
        self.status, self.outcome = "active", None

    def stored(self) -> dict[str, Any]:
        shallow = {field.name: getattr(self, field.name) for field in attrs.fields(Session)}
        return {**shallow, "context": values.stored(self.context),
                "frames": [frame.stored() for frame in self.frames], "trail": list(self.trail),
                "actions": list(self.actions), "done": dict(self.done), "history": list(self.history)}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> "Session":
        raw = dict(data)
        kept = {name: raw.pop(name) for name in ("history", "last")}
        kept["history"] = [_earlier(state, number) for number, state in enumerate(kept["history"])]
        typed = values.typed(raw)
        typed["frames"] = [Frame(**frame) for frame in typed["frames"]]
        return cls(**typed, **kept)


def _earlier(state: Any, number: int) -> dict[str, Any]:
    """A state of the history; sessions saved before states had a position kept only the frames."""
    if isinstance(state, dict):
        return state
    return {"frames": state, "position": f"earlier-{number}", "size": 0, "total": 0}


class Engine:
    """Runs sessions of ``scripts`` (by id); see the module's contract."""

    def __init__(self, scripts: Mapping[str, Script], *, actions: Mapping[str, DialogAction],
                 service: Callable[[str], Any], settings: Mapping[str, Any] | None = None,
                 today: Callable[[], datetime.date] = datetime.date.today, locale: str = "en",
                 outbox: Outbox | None = None) -> None:
        self.scripts = scripts
        self.actions = actions
        self.service = service
        self.settings = dict(settings or {})
        self.outbox = outbox
        self.today = today
        try:
            self.numbers = number_format(locale)
        except ValueError as error:
            raise ConfigError(f"scripts: {error}") from None
        self._types: dict[str, dict[str, str]] = {}

    def script_of(self, session: Session) -> Script:
        """The script (or sub-script) the session stands in."""
        root = self.scripts.get(session.script)
        if root is None:
            raise NotFound(f"script '{session.script}' is not published here")
        return root.sub(session.frame.path)

    def start(self, script_id: str, context: Mapping[str, Any] | None = None) -> Session:
        """A new session of ``script_id`` standing at its first step that waits for input."""
        script = self.scripts.get(script_id)
        if script is None:
            raise NotFound(f"no script '{script_id}' (published: {', '.join(sorted(self.scripts)) or 'none'})")
        now = _now()
        session = Session(uuid.uuid4().hex, script.id, script.version,
                          dict(context or {}), [], created=now, updated=now)
        turn = Turn(self.today())
        self._push(session, script, [], session.context, turn)
        self._arrive(session, *self._settle(session, turn), turn)
        return session

    def answer(self, session: Session, raw: Any, seq: int | None = None) -> bool:
        """Apply an answer to the current step; False when it is a retry already applied."""
        if seq is not None and seq != session.seq:
            last = session.last
            if last is not None and last["seq"] == seq and last["raw"] == values.stored(raw):
                return False
            raise Conflict(f"the dialog has moved on (now at step {session.seq}, answer was for {seq}); "
                           "reload the current step")
        if session.status != "active":
            raise Conflict(f"the dialog has ended ({session.outcome})")
        script = self.script_of(session)
        step = script.step(session.frame.step)
        if not isinstance(step, Question):
            raw = None
        before = session.state()
        trail = len(session.trail)
        turn = Turn(self.today())
        try:
            if isinstance(step, Question):
                frame = session.frame
                accepted = accept(step, raw, self._scope(frame, turn, script))
                frame.put(frame.answers, step.id, accepted)
                before["given"] = as_text(accepted, self._numbers(script))     # shown again after back
            self._take(session, script, step, turn)
            self._arrive(session, *self._settle(session, turn), turn)
        except Exception:
            session.restore(before)
            del session.trail[trail:]
            raise
        session.depth += 1
        self._remember(session, before)
        session.last = {"seq": session.seq, "raw": values.stored(raw)}
        session.seq += 1
        session.updated = _now()
        return True

    def back(self, session: Session) -> None:
        """Return to the step before the last answer; actions already run stay done."""
        if session.status != "active":
            raise Conflict(f"the dialog has ended ({session.outcome}); start a new one")
        if not session.history:
            raise Conflict("there is no earlier step to go back to")
        earlier = session.history.pop()
        session.restore(earlier)
        session.depth -= 1
        # no answer to recognize as a retry (no seq); the one taken back, shown again
        session.last = {"seq": None, "raw": None, "given": earlier.get("given")}
        session.trail = [*session.trail, self._where(session)][-TRAIL:]
        session.seq += 1
        session.updated = _now()

    def finish(self, session: Session, outcome: str = "abandoned") -> None:
        """End the dialog now with ``outcome`` (e.g. the caller hung up)."""
        if session.status == "active":
            session.status, session.outcome = "abandoned", outcome
            session.seq += 1
            session.updated = _now()

    def view(self, session: Session) -> dict[str, Any]:
        """The session as plain data (a :class:`~caruso_scripts.client.DialogView`): where it
        stands, what to show, what was done."""
        script = self.script_of(session)
        step = script.step(session.frame.step)
        root = session.frames[0]
        return DialogView(
            session.id, session.script, self.scripts[session.script].title, session.seq, session.status,
            session.outcome, self.describe_step(session, step), bool(session.history),
            values.plain(root.answers), values.plain(root.variables), values.plain(session.actions),
            list(session.trail), values.plain(session.context)).wire()

    def describe_step(self, session: Session, step: Step) -> StepView:
        """The step as shown; number and amount questions say their ``decimal`` mark, an
        amount its ``currency`` when the script names one."""
        script = self.script_of(session)
        text = self._text(session, script, step, Turn(self.today()))
        if isinstance(step, Question):
            return StepView(step.id, step.kind, text, step.type, step.required,
                            tuple(Option(o.value, o.label) for o in step.options),
                            step.maxlength if step.type == "text" else None,
                            self._numbers(script).decimal if step.type in NUMERIC else None, line=step.line,
                            given=(session.last or {}).get("given"), currency=step.currency)
        if isinstance(step, End):
            return StepView(step.id, step.kind, text, outcome=step.outcome, disposition=step.disposition,
                            next=step.next, line=step.line)
        return StepView(step.id, step.kind, text, line=step.line)

    def _text(self, session: Session, script: Script, step: Step, turn: Turn) -> str | None:
        """The text of ``step`` (prompt, information, end text) rendered within ``turn``."""
        template = step.prompt if isinstance(step, Question) else getattr(step, "text", None)
        if template is None:
            return "" if isinstance(step, End) else None
        try:
            return template.render(self._scope(session.frame, turn, script))
        except ExpressionError as error:
            raise DialogError(f"{script.source}:{step.line}: "
                              f"text of step '{step.id}' failed: {error.message}") from None

    def _scope(self, frame: Frame, turn: Turn, script: Script) -> Scope:
        """What the expressions of ``frame`` read during ``turn`` (one scope per frame and turn)."""
        scope = frame.scope
        if scope is None or scope.budget is not turn.budget:
            scope = frame.scope = Scope(frame.names, turn.today, turn.budget, self._numbers(script))
        return scope

    def _numbers(self, script: Script) -> NumberFormat:
        """How ``script`` writes numbers: its own locale, else the engine's."""
        return script.numbers or self.numbers

    def _where(self, session: Session) -> str:
        frame = session.frame
        return "/".join([*frame.path, frame.step]) if frame.path else frame.step

    def _arrive(self, session: Session, script: Script, step: Step, turn: Turn) -> None:
        """Check the new state's data, show its ``step``, then run the actions planned on the way."""
        session.size = self._measure(session, turn.budget)
        self._text(session, script, step, turn)
        for action in turn.planned:
            self._run(session, action)
        del session.trail[:-TRAIL]

    def _measure(self, session: Session, budget: Budget) -> int:
        """The size of the session's data; a DialogError beyond the bounds."""
        parts = [value for frame in session.frames for value in frame.names.values()]
        try:
            return measure_all(parts, LIMITS.size, budget, "the dialog's data (answers, variables, records, context)")
        except ExpressionError as error:
            raise DialogError(f"{self.script_of(session).source}: {error.message}") from None

    def _remember(self, session: Session, before: dict[str, Any]) -> None:
        """Keep ``before`` for ``back`` within the bounds; forget what back can no longer reach."""
        history = session.history
        before["total"] = before["size"] + (history[-1]["total"] if history else 0)
        history.append(before)
        if len(history) > HISTORY:
            del history[0]
        while history[-1]["total"] - history[0]["total"] + history[0]["size"] > LIMITS.history:
            del history[0]
        if session.done:
            floor = session.depth - len(history)        # the depth of the oldest state kept
            session.done = {key: depth for key, depth in session.done.items() if depth >= floor}

    def _push(self, session: Session, script: Script, path: list[str], context: dict[str, Any],
              turn: Turn) -> None:
        frame = Frame(path, script.start, context)
        for binding in script.bindings:
            frame.put(frame.bound, binding.name, self._bind(script, binding, frame, turn))
        for variable in script.variables:
            frame.put(frame.variables, variable.name, None if variable.initial is None
                      else self._evaluate(script, variable.initial, frame, variable.line, turn))
        session.frames.append(frame)
        session.trail.append(self._where(session))

    def _bind(self, script: Script, binding: Any, frame: Frame, turn: Turn) -> Any:
        key = self._evaluate(script, binding.key, frame, binding.line, turn)
        if key is None:
            if binding.required:
                raise DialogError(f"{script.source}:{binding.line}: binding '{binding.name}' has no key "
                                  f"({binding.key.source} is null)")
            return None
        storage = self.service(STORAGE)
        try:
            if binding.field is None:
                record = storage.get(binding.object, values.plain(key))
            else:
                found = storage.query(binding.object, {"field": binding.field, "op": "eq", "value": values.plain(key)},
                                      [binding.order] if binding.order else None, 1)
                if not found:
                    raise NotFound(f"no {binding.object} with {binding.field} {values.plain(key)!r}")
                record = found[0]
        except NotFound:
            if binding.required:
                raise DialogError(f"no {binding.object} {values.plain(key)!r} for '{binding.name}'") from None
            return None
        return self._typed_record(binding.object, record)

    def _typed_record(self, name: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """A storage record with its decimal and date attributes typed (from describe())."""
        types = self._types.get(name)
        if types is None:
            described = self.service(STORAGE).describe(name)
            types = self._types[name] = {attribute: spec.get("type", "")
                                         for attribute, spec in described.get("attributes", {}).items()}
        result = dict(record)
        for attribute, kind in types.items():
            value = result.get(attribute)
            if value is None:
                continue
            if kind == "decimal":
                result[attribute] = values.typed({"$decimal": str(value)})
            elif kind == "date":
                result[attribute] = values.typed({"$date": str(value)[:10]})
        return result

    def _evaluate(self, script: Script, expression: Any, frame: Frame, line: int, turn: Turn) -> Any:
        try:
            return expression.evaluate(self._scope(frame, turn, script))
        except ExpressionError as error:
            raise DialogError(f"{script.source}:{line}: '{expression.source}' failed: {error.message}") from None

    def _settle(self, session: Session, turn: Turn) -> tuple[Script, Step]:
        """Enter sub-scripts and leave ended ones until a step waits for input or the dialog
        ends; that step and its script."""
        while True:
            script = self.script_of(session)
            step = script.step(session.frame.step)
            if isinstance(step, SubScript):
                turn.budget.step(step.id)
                frame = session.frame
                scope = self._scope(frame, turn, script)
                try:
                    context = {**frame.context, **{p.name: p.evaluate(scope) for p in step.params}}
                except ExpressionError as error:
                    raise DialogError(f"{script.source}:{step.line}: parameter of sub-script '{step.id}' "
                                      f"failed: {error.message}") from None
                self._push(session, step.script, [*frame.path, step.id], context, turn)
                continue
            if isinstance(step, End):
                if len(session.frames) == 1:
                    session.status, session.outcome = "ended", step.outcome
                    return script, step
                session.frames.pop()
                parent_script = self.script_of(session)
                parent_step = parent_script.step(session.frame.step)
                session.frame.put(session.frame.answers, parent_step.id, step.outcome)
                self._take(session, parent_script, parent_step, turn)
                continue
            return script, step

    def _take(self, session: Session, script: Script, step: Step, turn: Turn) -> None:
        turn.budget.step(step.id)
        frame = session.frame
        index, transition = self._choose(script, step, frame, turn)
        for assignment in transition.assignments:
            frame.put(frame.variables, assignment.var,
                      self._evaluate(script, assignment.value, frame, assignment.line, turn))
        session.position = _advance(session.position, frame.path, step.id, index)
        for number, action in enumerate(transition.actions):
            turn.budget.act(step.id)
            turn.planned.append(self._plan(session, script, step, action,
                                           f"{session.id}:{session.depth}:{session.position}:{number}", turn))
        frame.step = transition.target
        session.trail.append(self._where(session))

    def _choose(self, script: Script, step: Step, frame: Frame, turn: Turn) -> tuple[int, Transition]:
        for index, transition in enumerate(step.transitions):
            if transition.condition is None or self._evaluate(script, transition.condition, frame, transition.line,
                                                              turn):
                return index, transition
        raise DialogError(f"{script.source}:{step.line}: no transition of step '{step.id}' applies "
                          "(add a <go> without 'if' as the last one)")

    def _plan(self, session: Session, script: Script, step: Step, action: Action, key: str,
              turn: Turn) -> PlannedAction:
        implementation = self.actions.get(action.name)
        if implementation is None:
            raise DialogError(f"{script.source}:{action.line}: no action named '{action.name}' is installed")
        frame = session.frame
        scope = self._scope(frame, turn, script)
        try:
            params = {param.name: param.evaluate(scope) for param in action.params}
        except ExpressionError as error:
            raise DialogError(f"{script.source}:{action.line}: parameter of '{action.name}' failed: "
                              f"{error.message}") from None
        context = ActionContext(session.id, script.id, step.id, key, values.plain(frame.context),
                                self.settings, self.service, self.outbox)
        return PlannedAction(action, implementation, values.plain(params), context)

    def _run(self, session: Session, planned: PlannedAction) -> None:
        key, action = planned.context.key, planned.action
        if key in session.done:
            return
        try:
            result = planned.implementation(planned.context, **planned.params)
        except CarusoError as error:
            raise DialogError(f"action '{action.name}' (line {action.line}) failed: {error.message}") from None
        except Exception as error:
            raise DialogError(f"action '{action.name}' (line {action.line}) failed: "
                              f"{type(error).__name__}: {error}") from None
        session.done[key] = session.depth
        self._log(session, {"key": key, "name": action.name, "step": planned.context.step,
                            "script": planned.context.script, "params": planned.params,
                            "result": values.plain(result)})

    def _log(self, session: Session, record: dict[str, Any]) -> None:
        """Add ``record`` to the session's log of actions, which keeps the most recent ones
        within ``LOGGED`` records and ``LIMITS.size``; parameters and result of a record
        larger than ``RECORD`` are not kept."""
        try:
            measure(record, RECORD)
        except ExpressionError as error:
            note = f"(not kept: {error.message})"
            record = {**record, "params": note, "result": note}
        log = [*session.actions, record][-LOGGED:]
        sizes = [measure(entry, LIMITS.size) for entry in log]
        while sum(sizes) > LIMITS.size:
            log.pop(0)
            sizes.pop(0)
        session.actions = log


def _advance(position: str, path: list[str], step: str, index: int) -> str:
    """The place on a session's path after taking transition ``index`` of ``step`` (in the
    sub-script ``path``) from ``position``."""
    return hashlib.blake2b(f"{position}|{'/'.join(path)}|{step}|{index}".encode(), digest_size=8).hexdigest()


def _now() -> str:
    """The current UTC time as ISO 8601 text, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
