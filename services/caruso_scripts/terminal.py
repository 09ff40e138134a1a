"""The terminal runner: a dialog in a terminal, answers typed (``caruso script run FILE``).

Contract of :class:`TerminalRunner.run`: shows each step through ``say``, reads each
answer through ``ask`` until the dialog ends or the user types ``:quit``; a choice can
be answered by its number, value or label; ``:back`` returns to the previous question;
a rejected answer (or any other refusal) shows why and asks again. Actions run are shown as they happen.
"""
from __future__ import annotations

from typing import Callable

from caruso_core.errors import CarusoError
from caruso_scripts import values
from caruso_scripts.engine import Engine, Session


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
                if typed.isdigit() and 1 <= int(typed) <= len(options):
                    typed = options[int(typed) - 1]["value"]
                self.engine.answer(session, typed if step["kind"] == "question" else None)
            except CarusoError as error:
                self.say(f"! {error.message}")
