"""Lint of a loaded script: things that are valid but almost certainly mistakes.

Contract of :func:`lint`: returns ``FILE:LINE: message`` findings (empty: clean) for the
script and its sub-scripts: steps never reached from the start, steps where the dialog
can get stuck (every ``<go>`` has a condition), steps from which no end can be reached,
transitions after an unconditional one (never taken), questions whose answer nothing
reads, and variables that are set but never read.
"""
from __future__ import annotations

from caruso_scripts.model import End, Question, Script, Step, SubScript, Transition


def lint(script: Script) -> list[str]:
    findings = _lint_one(script)
    for step in script.steps.values():
        if isinstance(step, SubScript):
            findings += [f for f in lint(step.script) if f not in findings]
    return findings


def taken(step: Step) -> tuple[Transition, ...]:
    """The transitions of a step that can be taken: up to the first one without a condition."""
    for index, transition in enumerate(step.transitions):
        if transition.condition is None:
            return step.transitions[:index + 1]
    return step.transitions


def reachable(script: Script) -> list[str]:
    """Step ids reachable from the start, in the order found."""
    seen = [script.start] if script.start in script.steps else []
    for step_id in seen:
        for transition in taken(script.steps[step_id]):
            if transition.target in script.steps and transition.target not in seen:
                seen.append(transition.target)
    return seen


def _lint_one(script: Script) -> list[str]:
    where = script.source
    findings = []
    reached = reachable(script)
    for step in script.steps.values():
        if step.id not in reached:
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
    ending = {s.id for s in script.steps.values() if isinstance(s, End)}
    changed = True
    while changed:
        changed = False
        for step in script.steps.values():
            if step.id not in ending and any(t.target in ending for t in taken(step)):
                ending.add(step.id)
                changed = True
    return ending
