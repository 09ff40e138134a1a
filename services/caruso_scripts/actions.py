"""The contract of dialog actions: the side effects a script's transitions name.

A dialog action is a callable that a plugin's ``caruso_script_actions`` hook maps to the
name scripts use (``<action name="NAME">``). The engine calls it as
``action(context, **params)``:

- ``context`` is an :class:`ActionContext`; ``params`` are the values of the action's
  ``<param>`` elements as plain data;
- it runs in the answer that takes its transition, after the step that answer leads
  to has shown, in the order of the transitions taken; the caller of ``answer`` waits;
- it returns plain data, kept with the session (the view's ``actions``), or raises a
  ``CarusoError`` with one clear line: the answer then fails with a ``DialogError`` and
  the dialog stays where it was (actions that completed before stay done);
- it runs at most once per place on the session's path; ``context.key`` names that
  place, so a receiver can drop a duplicate.

Business rules of the storage service have actions of their own, with another contract
(``caruso_storage.rules.RuleAction``): they run inside a database transaction.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

import attrs


@attrs.frozen
class ActionContext:
    """What a dialog action gets besides its parameters.

    ``session``, ``script`` and ``step`` name where the transition was taken; ``key``
    identifies this run (the same for a retried answer and for the same transitions taken
    again after going back); ``context`` is the session's context; ``settings`` the
    engine's configuration for actions (e.g. SMTP host and port); ``service(name_or_interface)``
    returns a proxy to a service through the engine's service manager.
    """

    session: str
    script: str
    step: str
    key: str
    context: dict[str, Any]
    settings: dict[str, Any]
    service: Callable[[str], Any]


class DialogAction(Protocol):
    """``action(context, **params)``: see the module's contract."""

    def __call__(self, context: ActionContext, /, **params: Any) -> Any: ...
