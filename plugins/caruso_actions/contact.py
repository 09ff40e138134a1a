"""Action ``contact``: add an entry to a customer's contact history (storage service).

Parameters: ``key`` (the customer's key), optional ``object`` (default ``Customer``),
``channel`` (default: the dialog context's ``channel``, as the self-service portal gives
``web``, else ``voice``, the communication server's name for calls, so that a history
filtered by channel lists a script's entries with the calls' and the desk's),
``direction`` (``inbound``), ``summary``, ``agent`` (default: the dialog context's
``agent``, as the agent desk gives it).
The entry's ``reference`` names the dialog session and its ``data`` the script and step.
"""
from __future__ import annotations

from typing import Any

from caruso_scripts.actions import ActionContext

STORAGE = "caruso.storage/1"


def log_contact(context: ActionContext, key: Any, object: str = "Customer", channel: str | None = None,
                direction: str = "inbound", summary: str | None = None, agent: str | None = None) -> dict[str, Any]:
    channel = channel or _given(context, "channel") or "voice"
    agent = agent or _given(context, "agent")
    entry = {"channel": channel, "direction": direction, "summary": summary, "agent": agent,
             "reference": f"script-session:{context.session}",
             "data": {"script": context.script, "step": context.step}}
    return context.service(STORAGE).add_contact(object, key, entry)


def _given(context: ActionContext, name: str) -> str | None:
    """The dialog context's text ``name``, if it has one."""
    given = context.context.get(name)
    return given if isinstance(given, str) and given else None
