"""Running dialogs in process: sessions, steps, answers, transitions and actions.

Contract of :class:`Engine` (it keeps no state of its own besides caches; a
:class:`Session` holds everything and is plain data through ``stored()``):

- ``start`` creates a session, loads the script's bindings through the storage
  service, gives variables their initial values and enters the start step;
- a question waits for an answer, an info item for a continue (``answer(None)``), a
  sub-script step runs the sub-script (its outcome becomes the value of the step's id),
  an end step ends the dialog with its outcome;
- ``answer`` checks the answer (``answers.accept``), takes the first transition whose
  condition holds, applies its assignments, runs its actions and enters the target;
  when it fails (rejected answer, failing action, no transition applies) the session
  is left as it was, except that actions which completed are remembered;
- every transition has a sequence number ``seq``: an answer sent again with the
  ``seq`` it was first sent with is recognized and not applied twice, and an action
  runs at most once per (seq, transition, action) even if the answer is retried;
- ``back`` returns to the previous question (actions already run are not undone).
"""
from __future__ import annotations

import datetime
import uuid
from typing import Any, Callable, Mapping

import attrs

from caruso_core.errors import CarusoError, Conflict, NotFound
from caruso_scripts import values
from caruso_scripts.answers import accept
from caruso_scripts.errors import DialogError, ExpressionError
from caruso_scripts.expressions import Scope
from caruso_scripts.model import End, Info, Question, Script, Step, SubScript, Transition

HISTORY = 50
STORAGE = "caruso.storage/1"


@attrs.frozen
class ActionContext:
    """What an action gets besides its parameters.

    ``service(name_or_interface)`` returns a proxy to a service through the manager;
    ``settings`` is the engine's configuration for actions (e.g. SMTP host and port);
    ``key`` identifies this run of the action uniquely and stably across retries.
    """

    session: str
    script: str
    step: str
    key: str
    context: dict[str, Any]
    settings: dict[str, Any]
    service: Callable[[str], Any]


@attrs.define
class Frame:
    """One running script: the root, or a sub-script reached through ``path``."""

    path: list[str]
    step: str
    context: dict[str, Any]
    bound: dict[str, Any] = attrs.field(factory=dict)
    variables: dict[str, Any] = attrs.field(factory=dict)
    answers: dict[str, Any] = attrs.field(factory=dict)

    def scope_values(self) -> dict[str, Any]:
        return {"context": self.context, **self.bound, **self.variables, **self.answers}

    def stored(self) -> dict[str, Any]:
        return {"path": list(self.path), "step": self.step, "context": values.stored(self.context),
                "bound": values.stored(self.bound), "variables": values.stored(self.variables),
                "answers": values.stored(self.answers)}


@attrs.define
class Session:
    """A dialog in progress or ended; ``stored()`` / ``from_stored()`` round-trip it.

    ``history`` (frames before each answer, for ``back``), ``last`` (the last answer, to
    recognize a retry) and ``actions`` (what ran, as plain data) are kept in stored form.
    """

    id: str
    script: str
    version: str
    context: dict[str, Any]
    frames: list[Frame]
    seq: int = 0
    status: str = "active"
    outcome: str | None = None
    history: list[Any] = attrs.field(factory=list)
    trail: list[str] = attrs.field(factory=list)
    actions: list[dict[str, Any]] = attrs.field(factory=list)
    last: dict[str, Any] | None = None
    created: str = ""
    updated: str = ""

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def stored(self) -> dict[str, Any]:
        shallow = {field.name: getattr(self, field.name) for field in attrs.fields(Session)}
        return {**shallow, "context": values.stored(self.context),
                "frames": [frame.stored() for frame in self.frames],
                "trail": list(self.trail), "actions": list(self.actions), "history": list(self.history)}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> "Session":
        raw = dict(data)
        kept = {name: raw.pop(name) for name in ("history", "last")}
        typed = values.typed(raw)
        typed["frames"] = [Frame(**frame) for frame in typed["frames"]]
        return cls(**typed, **kept)


class Engine:
    """Runs sessions of ``scripts`` (by id); see the module's contract."""

    def __init__(self, scripts: Mapping[str, Script], *, actions: Mapping[str, Callable[..., Any]],
                 service: Callable[[str], Any], settings: Mapping[str, Any] | None = None,
                 today: Callable[[], datetime.date] = datetime.date.today) -> None:
        self.scripts = scripts
        self.actions = actions
        self.service = service
        self.settings = dict(settings or {})
        self.today = today
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
        self._push(session, script, [], session.context)
        self._settle(session, f"{session.id}:0")
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
        snapshot = [f.stored() for f in session.frames]
        trail = len(session.trail)
        frame = session.frame
        if isinstance(step, Question):
            value = accept(step, raw, self._scope(frame))
            frame.answers[step.id] = value
        try:
            key = f"{session.id}:{session.seq + 1}"
            self._take(session, script, step, key)
            self._settle(session, key)
        except Exception:
            session.frames = [Frame(**values.typed(f)) for f in snapshot]
            session.status, session.outcome = "active", None
            del session.trail[trail:]
            raise
        session.history = [*session.history[-HISTORY + 1:], snapshot]
        session.last = {"seq": session.seq, "raw": values.stored(raw)}
        session.seq += 1
        session.updated = _now()
        return True

    def back(self, session: Session) -> None:
        """Return to the step before the last answer; actions already run stay done."""
        if not session.history:
            raise Conflict("there is no earlier step to go back to")
        session.frames = [Frame(**values.typed(f)) for f in session.history.pop()]
        session.status, session.outcome, session.last = "active", None, None
        session.trail.append(self._where(session))
        session.seq += 1
        session.updated = _now()

    def finish(self, session: Session, outcome: str = "abandoned") -> None:
        """End the dialog now with ``outcome`` (e.g. the caller hung up)."""
        if session.status == "active":
            session.status, session.outcome = "abandoned", outcome
            session.seq += 1
            session.updated = _now()

    def view(self, session: Session) -> dict[str, Any]:
        """The session as plain data: where it stands, what to show, what was done."""
        script = self.script_of(session)
        step = script.step(session.frame.step)
        root = session.frames[0]
        return {
            "session": session.id, "script": session.script, "title": self.scripts[session.script].title,
            "seq": session.seq, "status": session.status, "outcome": session.outcome,
            "step": self.describe_step(session, step), "can_go_back": bool(session.history),
            "answers": values.plain(root.answers), "variables": values.plain(root.variables),
            "actions": values.plain(session.actions), "trail": list(session.trail),
            "context": values.plain(session.context),
        }

    def describe_step(self, session: Session, step: Step) -> dict[str, Any]:
        scope = self._scope(session.frame)
        shown: dict[str, Any] = {"id": step.id, "kind": step.kind, "line": step.line}
        try:
            if isinstance(step, Question):
                shown.update(type=step.type, text=step.prompt.render(scope), required=step.required,
                             options=[{"value": o.value, "label": o.label} for o in step.options],
                             maxlength=step.maxlength if step.type == "text" else None)
            elif isinstance(step, (Info, End)):
                shown["text"] = step.text.render(scope) if step.text is not None else ""
                if isinstance(step, End):
                    shown["outcome"] = step.outcome
        except ExpressionError as error:
            raise DialogError(f"{self.script_of(session).source}:{step.line}: "
                              f"text of step '{step.id}' failed: {error.message}") from None
        return shown

    def _scope(self, frame: Frame) -> Scope:
        return Scope(frame.scope_values(), self.today())

    def _where(self, session: Session) -> str:
        return "/".join([*session.frame.path, session.frame.step])

    def _push(self, session: Session, script: Script, path: list[str], context: dict[str, Any]) -> None:
        frame = Frame(path, script.start, context)
        for binding in script.bindings:
            frame.bound[binding.name] = self._bind(script, binding, frame)
        for variable in script.variables:
            frame.variables[variable.name] = None if variable.initial is None \
                else self._evaluate(script, variable.initial, frame, variable.line)
        session.frames.append(frame)
        session.trail.append(self._where(session))

    def _bind(self, script: Script, binding: Any, frame: Frame) -> Any:
        key = self._evaluate(script, binding.key, frame, binding.line)
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

    def _evaluate(self, script: Script, expression: Any, frame: Frame, line: int) -> Any:
        try:
            return expression.evaluate(self._scope(frame))
        except ExpressionError as error:
            raise DialogError(f"{script.source}:{line}: '{expression.source}' failed: {error.message}") from None

    def _settle(self, session: Session, key: str) -> None:
        """Enter sub-scripts and leave ended ones until a step waits for input or the dialog ends."""
        while True:
            script = self.script_of(session)
            step = script.step(session.frame.step)
            if isinstance(step, SubScript):
                frame = session.frame
                context = {**frame.context, **{p.name: p.evaluate(self._scope(frame)) for p in step.params}}
                self._push(session, step.script, [*frame.path, step.id], context)
                continue
            if isinstance(step, End):
                if len(session.frames) == 1:
                    session.status, session.outcome = "ended", step.outcome
                    return
                session.frames.pop()
                parent_script = self.script_of(session)
                parent_step = parent_script.step(session.frame.step)
                session.frame.answers[parent_step.id] = step.outcome
                self._take(session, parent_script, parent_step, key)
                continue
            return

    def _take(self, session: Session, script: Script, step: Step, key: str) -> None:
        frame = session.frame
        transition = self._choose(script, step, frame)
        for assignment in transition.assignments:
            frame.variables[assignment.var] = self._evaluate(script, assignment.value, frame, assignment.line)
        for index, action in enumerate(transition.actions):
            self._run(session, script, step, action, f"{key}:{'/'.join(frame.path)}:{transition.line}:{index}")
        frame.step = transition.target
        session.trail.append(self._where(session))

    def _choose(self, script: Script, step: Step, frame: Frame) -> Transition:
        for transition in step.transitions:
            if transition.condition is None or self._evaluate(script, transition.condition, frame, transition.line):
                return transition
        raise DialogError(f"{script.source}:{step.line}: no transition of step '{step.id}' applies "
                          "(add a <go> without 'if' as the last one)")

    def _run(self, session: Session, script: Script, step: Step, action: Any, key: str) -> None:
        if any(done["key"] == key for done in session.actions[-50:]):
            return
        implementation = self.actions.get(action.name)
        if implementation is None:
            raise DialogError(f"{script.source}:{action.line}: no action named '{action.name}' is installed")
        frame = session.frame
        scope = self._scope(frame)
        try:
            params = {param.name: param.evaluate(scope) for param in action.params}
        except ExpressionError as error:
            raise DialogError(f"{script.source}:{action.line}: parameter of '{action.name}' failed: "
                              f"{error.message}") from None
        plain_params = values.plain(params)
        context = ActionContext(session.id, script.id, step.id, key, values.plain(frame.context),
                                self.settings, self.service)
        try:
            result = implementation(context, **plain_params)
        except CarusoError as error:
            raise DialogError(f"action '{action.name}' (line {action.line}) failed: {error.message}") from None
        except Exception as error:
            raise DialogError(f"action '{action.name}' (line {action.line}) failed: "
                              f"{type(error).__name__}: {error}") from None
        session.actions.append({"key": key, "name": action.name, "step": step.id, "script": script.id,
                                "params": plain_params, "result": values.plain(result)})


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
