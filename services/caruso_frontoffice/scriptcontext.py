"""The context the agent desk and the self-service portal give the dialog scripts they
start, and the scripts that need more.

The desk starts a queue's script with ``customer_id`` (the popped customer's key, null
when nobody was found), ``caller``, ``interaction``, ``queue`` and ``agent``; the portal
with a signed-in customer's key (``customer_id``) or nothing. A binding that must load
(not ``required="false"``) with a key read from another context name can never start
there: :func:`context_problems` names each, sub-scripts included (whose context adds
their parameters).
"""
from __future__ import annotations

from typing import Iterable, Mapping

from caruso_scripts.model import Script, SubScript

DESK_CONTEXT = frozenset({"customer_id", "caller", "interaction", "queue", "agent"})
PORTAL_CONTEXT = frozenset({"customer_id"})


def missing(script: Script, supplied: frozenset[str]) -> list[str]:
    """``file:line: binding 'x' needs context.y`` for each required binding of ``script``
    (and its sub-scripts) whose key reads a context name not in ``supplied``."""
    found = []
    for binding in script.bindings:
        if not binding.required:
            continue
        for path, _ in binding.key.paths():
            if path[0] == "context" and len(path) > 1 and path[1] not in supplied:
                found.append(f"{script.source}:{binding.line}: binding {binding.name!r} needs "
                             f"context.{path[1]}")
    for step in script.steps.values():
        if isinstance(step, SubScript):
            found += missing(step.script, supplied | {param.name for param in step.params})
    return found


def context_problems(library: Mapping[str, Script], desk: Mapping[str, str], portal: Iterable[str]) -> list[str]:
    """Each script the desk (``desk``: queue to script id) or the portal (``portal``: script
    ids) starts that is not in ``library`` or needs a context they do not give."""
    problems = []
    starts = [(f"queue {queue!r} of the desk", script, DESK_CONTEXT) for queue, script in sorted(desk.items())]
    starts += [("the portal", script, PORTAL_CONTEXT) for script in portal]
    for where, script_id, supplied in starts:
        script = library.get(script_id)
        if script is None:
            problems.append(f"{where} starts script {script_id!r}, which the scripts service does not have")
            continue
        problems += [f"{need}, which {where} does not give (it gives {', '.join(sorted(supplied))})"
                     for need in missing(script, supplied)]
    return problems
