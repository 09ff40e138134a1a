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
  place, so a receiver can drop a duplicate;
- it does not wait for a mail server: e-mail goes to ``context.outbox``
  (:class:`Outbox`), which keeps it durably and returns at once; the engine sends it in
  the background, so a mail server that is down delays the mail, never the dialog.

Business rules of the storage service have actions of their own, with another contract
(``caruso_storage.rules.RuleAction``): they run inside a database transaction.
"""
from __future__ import annotations

import email.message
from typing import Any, Callable, Protocol

import attrs


class Outbox(Protocol):
    """Where a dialog action leaves e-mail for the engine to send (``ActionContext.outbox``).

    ``queue_mail(key, message)`` stores ``message`` (an ``email.message.EmailMessage``
    with ``From`` and at least one address in ``To``, ``Cc`` or ``Bcc``; ``Bcc`` is taken
    out of what is sent) in the engine's database under ``key`` (give ``context.key``) and
    returns ``{"to", "message_id", "queued": True}`` (the ``To`` and ``Message-ID``
    headers). A message queued under ``key`` before is not queued again: the call returns
    the first one's result, so a retried answer or a replay sends one mail. A message
    larger than 512 KiB as sent, one without a sender or recipient, an address longer
    than 320 characters, or a key longer than 200 characters or with spaces around it is
    refused with ``InvalidInput`` and nothing is stored. The engine's
    sender delivers queued mail over SMTP, retrying with growing pauses; the service's
    ``mail_outbox()`` shows what waits or failed.
    """

    def queue_mail(self, key: str, message: email.message.EmailMessage) -> dict[str, Any]: ...


@attrs.frozen
class ActionContext:
    """What a dialog action gets besides its parameters.

    ``session``, ``script`` and ``step`` name where the transition was taken; ``key``
    identifies this run (the same for a retried answer and for the same transitions taken
    again after going back); ``context`` is the session's context; ``settings`` the
    engine's configuration for actions (e.g. ``mail_from``); ``service(name_or_interface)``
    returns a proxy to a service through the engine's service manager; ``outbox`` is the
    engine's :class:`Outbox` for e-mail (None where nothing could send it: a script test,
    ``caruso script run --dry-run``; ``caruso script run`` sends it when the dialog ends).
    """

    session: str
    script: str
    step: str
    key: str
    context: dict[str, Any]
    settings: dict[str, Any]
    service: Callable[[str], Any]
    outbox: Outbox | None = None


class DialogAction(Protocol):
    """``action(context, **params)``: see the module's contract."""

    def __call__(self, context: ActionContext, /, **params: Any) -> Any: ...
