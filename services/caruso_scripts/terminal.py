"""The terminal runner: a dialog in a terminal, answers typed (``caruso script run FILE``).

Contract of :class:`TerminalRunner.run`: shows each step through ``say``, reads each
answer through ``ask`` until the dialog ends or the user types ``:quit``; a choice can
be answered by its number, value or label; ``:back`` returns to the previous question;
a rejected answer (or any other refusal) shows why and asks again. Actions run are shown as they happen.

E-mail of the dialog's actions: :func:`terminal_outbox` is the outbox they queue it in (a
database the user names, else a temporary SQLite file), :func:`send_mail` the one sending
pass over it after the dialog, with the engine's sender (:class:`~caruso_scripts.mailer.Mailer`):
a line for each message due, sent or left queued or failed with its error, and
``Unavailable`` counting those not sent.
"""
from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from caruso_core import databases
from caruso_core.errors import CarusoError, Unavailable
from caruso_core.digits import digits
from caruso_scripts import values
from caruso_scripts.engine import Engine, Session
from caruso_scripts.mailer import BATCH, Mailer, MailRetries
from caruso_scripts.outbox import MailOutbox

NO_PAUSE = 0.001        # seconds
QUIET = logging.getLogger("caruso.scripts.mail.terminal")     # the pass says it all in its lines
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False


class TerminalRunner:
    def __init__(self, engine: Engine, ask: Callable[[str], str], say: Callable[[str], None]) -> None:
        self.engine = engine
        self.ask = ask
        self.say = say

    def run(self, session: Session) -> Session:
        shown_actions = 0
        while True:
            view = self.engine.view(session)
            for action in session.actions[shown_actions:]:
                self.say(f"  [action {action['name']}: {values.plain(action['params'])}]")
            shown_actions = len(session.actions)
            step = view["step"]
            self.say("")
            self.say(step.get("text", ""))
            if session.status != "active":
                self.say(f"-- {session.status}: {session.outcome}")
                return session
            for number, option in enumerate(step.get("options", []), 1):
                self.say(f"  {number}) {option['label']}")
            hint = {"info": "Enter to continue", "yesno": "yes/no", "date": "YYYY-MM-DD"}.get(
                step.get("type") or step["kind"], step.get("type", ""))
            typed = self.ask(f"[{hint}] > ").strip()
            if typed == ":quit":
                self.engine.finish(session, "abandoned")
                self.say("-- abandoned")
                return session
            try:
                if typed == ":back":
                    self.engine.back(session)
                    continue
                options = step.get("options", [])
                if digits(typed) and 1 <= int(typed) <= len(options):
                    typed = options[int(typed) - 1]["value"]
                self.engine.answer(session, typed if step["kind"] == "question" else None)
            except CarusoError as error:
                self.say(f"! {error.message}")


@contextlib.contextmanager
def terminal_outbox(url: str | None) -> Iterator[MailOutbox]:
    """The outbox of a dialog in the terminal: in the database ``url`` (where mail not sent
    stays queued), else in a temporary SQLite file removed at the end."""
    with contextlib.ExitStack() as stack:
        if url is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="caruso-mail-"))
            url = f"sqlite:///{Path(folder) / 'outbox.db'}"
        engine = databases.engine(url)
        stack.callback(engine.dispose)
        yield MailOutbox(engine)


def terminal_mailer(outbox: MailOutbox, settings: Mapping[str, Any]) -> Mailer:
    """The sender of a dialog in the terminal (made before the dialog: bad settings stop it
    before the first question). A message its pass could not send is due again at once: the
    next run on a kept outbox, or a script engine on that database, tries it without a pause."""
    return Mailer(outbox, settings, MailRetries(backoff=NO_PAUSE, backoff_max=NO_PAUSE), QUIET)


def send_mail(mailer: Mailer, say: Callable[[str], None], kept: str | None = None) -> None:
    """One pass of ``mailer`` over the messages due in its outbox, a line for each;
    Unavailable if some were not sent (``kept``: where they wait; None, a temporary outbox)."""
    outbox = mailer.outbox
    due = {row["id"]: row["attempts"] for row in outbox.due(BATCH)}
    if not due:
        return
    mailer.work()
    unsent = 0
    for row_id, attempts in due.items():
        row = outbox.entry_of(row_id)
        if row is None:
            continue
        what = f"mail {row_id} to {row['to']} {row['subject']!r}"
        if row["state"] == "sent":
            say(f"{what}: sent")
            continue
        unsent += 1
        if row["state"] == "failed":
            say(f"{what}: given up: {row['last_error']}")
        elif row["attempts"] == attempts:
            say(f"{what}: left queued, not tried in this pass")
        else:
            say(f"{what}: left queued: {row['last_error']}")
    if unsent:
        where = (f"they stay queued in {kept}" if kept is not None
                 else "the outbox was temporary: give --outbox URL to keep them")
        raise Unavailable(f"{unsent} of {len(due)} message(s) not sent; {where}")
