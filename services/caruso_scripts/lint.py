"""Lint of a loaded script: things that are valid but almost certainly mistakes.

Contract of :func:`lint`: returns ``FILE:LINE: message`` findings (empty: clean) for the
script and its sub-scripts (each script file once): steps never reached from the start,
steps where the dialog can get stuck (every ``<go>`` has a condition), steps from which
no end can be reached, transitions after an unconditional one (never taken), questions
whose answer nothing reads, and variables that are set but never read. The work is
linear in the size of the scripts.
"""
from __future__ import annotations

from caruso_scripts.model import End, Question, Script, Step, SubScript, Transition


def lint(script: Script) -> list[str]:
    findings: list[str] = []
    scripts = [script]
    seen = {script.source}
    for current in scripts:
        findings += _lint_one(current)
        for step in current.steps.values():
            if isinstance(step, SubScript) and step.script.source not in seen:
                seen.add(step.script.source)
                scripts.append(step.script)
    return findings


def taken(step: Step) -> tuple[Transition, ...]:
    """The transitions of a step that can be taken: up to the first one without a condition."""
    for index, transition in enumerate(step.transitions):
        if transition.condition is None:
            return step.transitions[:index + 1]
    return step.transitions


def reachable(script: Script) -> list[str]:
    """Step ids reachable from the start, in the order found."""
    order = [script.start] if script.start in script.steps else []
    seen = set(order)
    for step_id in order:
        for transition in taken(script.steps[step_id]):
            if transition.target in script.steps and transition.target not in seen:
                seen.add(transition.target)
                order.append(transition.target)
    return order


def _lint_one(script: Script) -> list[str]:
    where = script.source
    findings = []
    reached = reachable(script)
    reached_ids = set(reached)
    for step in script.steps.values():
        if step.id not in reached_ids:
            findings.append(f"{where}:{step.line}: step '{step.id}' is never reached from the start "
                            f"'{script.start}'")
    for step in script.steps.values():
        if isinstance(step, End):
            continue
        conditional = [t for t in step.transitions if t.condition is not None]
        if len(conditional) == len(step.transitions):
            findings.append(f"{where}:{step.line}: step '{step.id}' can be a dead end: every <go> has a "
                            "condition; add a <go> without 'if' as the last one")
        for index, transition in enumerate(step.transitions[:-1]):
            if transition.condition is None:
                findings.append(f"{where}:{step.transitions[index + 1].line}: this <go> of step '{step.id}' "
                                f"is never taken: the <go> on line {transition.line} has no condition")
                break
    ending = _can_end(script)
    for step_id in reached:
        if step_id not in ending:
            step = script.steps[step_id]
            findings.append(f"{where}:{step.line}: no end step can be reached from step '{step_id}'")
    read = set()
    for expression, _line in script.expressions():
        read |= expression.names()
    for step in script.steps.values():
        if isinstance(step, Question) and step.id not in read:
            findings.append(f"{where}:{step.line}: the answer to question '{step.id}' is never used "
                            "(no condition, assignment, text or action reads it)")
    for variable in script.variables:
        if variable.name not in read:
            findings.append(f"{where}:{variable.line}: variable '{variable.name}' is never read")
    return findings


def _can_end(script: Script) -> set[str]:
    """Steps from which an end step can be reached: a walk back from the ends."""
    leading_to: dict[str, list[str]] = {}
    for step in script.steps.values():
        for transition in taken(step):
            leading_to.setdefault(transition.target, []).append(step.id)
    ending = {s.id for s in script.steps.values() if isinstance(s, End)}
    pending = list(ending)
    while pending:
        for step_id in leading_to.get(pending.pop(), ()):
            if step_id not in ending:
                ending.add(step_id)
                pending.append(step_id)
    return ending
