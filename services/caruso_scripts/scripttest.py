"""Script tests: answer paths through a script with their expected results.

A script test file is TOML next to the script (docs/script-format.md, "Script tests")::

    script = "moving-house.xml"          # relative to this file
    today = 2026-03-02                   # optional: the date today() returns
    locale = "de"                        # optional: the engine's locale (for scripts without one)
    context = { customer_id = 1 }        # optional: the session's context

    [storage.Customer]                   # objects the bindings load (see memory_storage)
    records = [ { id = 1, name = "Ann Smith" } ]

    [[case]]
    name = "moves within the area"
    answers = { move_date = 2026-04-01, confirm = true }   # by question id; a list for repeats
    outcome = "completed"                                   # expected outcome
    steps = ["welcome", "move_date", "confirm", "done"]     # optional: exact trail
    variables = { fee = "0.00" }                            # optional: expected values (plain form)
    actions = [ { name = "email", params = { to = "ann@example.org" } } ]  # optional: in order

Information items are continued automatically. Actions are recorded, not run: an
expected action matches by name and by the parameters it lists.
"""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import attrs

from caruso_core.deployment import read_toml
from caruso_core.errors import CarusoError, NotFound
from caruso_scripts import loader, values
from caruso_scripts.engine import STORAGE, Engine, Session
from caruso_scripts.client import AnswerRejected
from caruso_scripts.errors import ScriptError
from caruso_scripts.memory_storage import MemoryStorage
from caruso_scripts.model import Question, Script, SubScript
from caruso_scripts.numbers import number_format

MAX_STEPS = 1000
# what each key of the file and of a case holds: (type, type of the items of a list, said as)
FILE_KINDS = {"script": (str, None, "a file name"), "today": (datetime.date, None, "a date"),
              "locale": (str, None, "a locale name"), "context": (dict, None, "a table"),
              "storage": (dict, dict, "a table of tables"), "case": (list, dict, "a list of tables ([[case]])")}
CASE_KINDS = {"name": (str, None, "a text"), "answers": (dict, None, "a table"), "outcome": (str, None, "a text"),
              "steps": (list, str, "a list of step ids"), "variables": (dict, None, "a table"),
              "actions": (list, dict, "a list of tables"), "context": (dict, None, "a table")}
CASE_KEYS = set(CASE_KINDS)


@attrs.frozen
class CaseResult:
    name: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def action_names(script: Script) -> set[str]:
    """Names of the actions a script and its sub-scripts use."""
    names = set()
    for step in script.steps.values():
        names |= {a.name for t in step.transitions for a in t.actions}
        if isinstance(step, SubScript):
            names |= action_names(step.script)
    return names


def dry_actions(script: Script) -> dict[str, Any]:
    """Actions of the script that do nothing (the engine records them with the session)."""
    return {name: (lambda context, **params: None) for name in action_names(script)}


def run_file(path: str | Path) -> list[CaseResult]:
    """Run every case of a script test file; a broken file or script is a ConfigError naming it."""
    path = Path(path)
    spec = read_toml(path)
    if "script" not in spec or not spec.get("case"):
        raise ScriptError(f"{path}: a script test file needs 'script = \"FILE.xml\"' and at least one [[case]]")
    _check_kinds(spec, FILE_KINDS, f"{path}: ")
    script = loader.load(path.parent / spec["script"])
    try:
        number_format(spec.get("locale", "en"))
    except ValueError as error:
        raise ScriptError(f"{path}: {error}") from None
    results = []
    for number, case in enumerate(spec["case"], 1):
        unknown = set(case) - CASE_KEYS
        if unknown:
            raise ScriptError(f"{path}: case {number}: unknown key(s) {', '.join(sorted(unknown))}; "
                              f"allowed: {', '.join(sorted(CASE_KEYS))}")
        _check_kinds(case, CASE_KINDS, f"{path}: case {number}: ")
        if any(not isinstance(action.get("name"), str) or not isinstance(action.get("params", {}), dict)
               for action in case.get("actions", ())):
            raise ScriptError(f"{path}: case {number}: each of actions is a table with a name and its params")
        results.append(run_case(script, spec, case, number))
    return results


def _check_kinds(table: dict[str, Any], kinds: dict[str, tuple[type, type | None, str]], where: str) -> None:
    """ScriptError (``where`` first) for a key of ``table`` that does not hold what ``kinds`` says."""
    for key, (kind, item, said) in kinds.items():
        value = table.get(key)
        if key in table and (not isinstance(value, kind) or (item is not None and not all(
                isinstance(one, item) for one in (value.values() if isinstance(value, dict) else value)))):
            raise ScriptError(f"{where}{key} must be {said}, not {str(value)[:60]!r}")


def run_case(script: Script, spec: dict[str, Any], case: dict[str, Any], number: int) -> CaseResult:
    name = str(case.get("name", f"case {number}"))
    storage = MemoryStorage(spec.get("storage", {}))
    today = spec.get("today", datetime.date.today())

    def service(key: str) -> Any:
        if key == STORAGE:
            return storage
        raise NotFound(f"script tests reach only {STORAGE} (asked for {key})")

    engine = Engine({script.id: script}, actions=dry_actions(script), service=service, today=lambda: today,
                    locale=spec.get("locale", "en"))
    try:
        session = engine.start(script.id, {**spec.get("context", {}), **case.get("context", {})})
        problems = _walk(engine, session, case)
    except CarusoError as error:
        return CaseResult(name, (f"the dialog failed: {error.message}",))
    return CaseResult(name, tuple(problems + _compare(session, case)))


def _walk(engine: Engine, session: Session, case: dict[str, Any]) -> list[str]:
    pending = {k: list(v) if isinstance(v, list) else [v] for k, v in case.get("answers", {}).items()}
    for _ in range(MAX_STEPS):
        if session.status != "active":
            break
        step = engine.script_of(session).step(session.frame.step)
        answer = None
        if isinstance(step, Question):
            if not pending.get(step.id):
                return [f"no answer given for question '{step.id}' (path so far: {' > '.join(session.trail)})"]
            answer = pending[step.id].pop(0)
        try:
            engine.answer(session, answer)
        except AnswerRejected as error:
            return [f"answer {values.plain(answer)!r} to '{step.id}' was not accepted: {error.message}"]
        except CarusoError as error:
            return [f"the dialog failed at step '{step.id}': {error.message}"]
    else:
        return [f"the dialog did not end within {MAX_STEPS} steps"]
    left = sorted(k for k, v in pending.items() if v)
    return [f"answers never asked for: {', '.join(left)}"] if left else []


def _compare(session: Session, case: dict[str, Any]) -> list[str]:
    problems = []
    if "outcome" in case and session.outcome != case["outcome"]:
        problems.append(f"outcome is {session.outcome!r}, expected {case['outcome']!r}")
    if "steps" in case and session.trail != list(case["steps"]):
        problems.append(f"steps were {session.trail}, expected {list(case['steps'])}")
    actual = values.plain(session.frames[0].variables)
    for variable, expected in case.get("variables", {}).items():
        if actual.get(variable) != values.plain(expected):
            problems.append(f"variable {variable} is {actual.get(variable)!r}, expected {values.plain(expected)!r}")
    if "actions" in case:
        done = session.actions
        expected_actions = case["actions"]
        if [a["name"] for a in done] != [a.get("name") for a in expected_actions]:
            problems.append(f"actions were {[a['name'] for a in done]}, "
                            f"expected {[a.get('name') for a in expected_actions]}")
        else:
            for ran, expected in zip(done, expected_actions):
                for param, value in expected.get("params", {}).items():
                    if ran["params"].get(param) != values.plain(value):
                        problems.append(f"action {ran['name']} parameter {param} is {ran['params'].get(param)!r}, "
                                        f"expected {values.plain(value)!r}")
    return problems
