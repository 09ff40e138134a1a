"""The context the agent desk and the self-service portal give the dialog scripts they
start, and the scripts that need more.

The desk starts a queue's script with ``customer_id`` (the popped customer's key, null
when nobody was found), ``caller``, ``interaction``, ``queue``, ``agent`` and ``channel``
(the communication server's: ``voice``, ``webchat``, ``email``, ...); the portal with
``channel`` ``"web"`` and a signed-in customer's key (``customer_id``). A binding that must load
(not ``required="false"``) with a key read from another context name can never start
there: :func:`context_problems` names each (what a script needs comes from
``caruso_scripts.startneeds``).
"""
from __future__ import annotations

from typing import Iterable, Mapping

from caruso_scripts.startneeds import unmet_context

DESK_CONTEXT = frozenset({"customer_id", "caller", "interaction", "queue", "agent", "channel"})
PORTAL_CONTEXT = frozenset({"customer_id", "channel"})


def context_problems(script_sources: Iterable[str], desk: Mapping[str, str], portal: Iterable[str]) -> list[str]:
    """Each script the desk (``desk``: queue to script id) or the portal (``portal``: script
    ids) starts that is not among the scripts of ``script_sources`` or needs a context they
    do not give."""
    starts = [(f"queue {queue!r} of the desk", script, DESK_CONTEXT) for queue, script in sorted(desk.items())]
    starts += [("the portal", script, PORTAL_CONTEXT) for script in portal]
    return unmet_context(script_sources, starts)
