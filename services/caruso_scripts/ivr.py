"""The IVR runner: a dialog script as a phone menu, answered with DTMF keys.

Contract of :class:`IvrRunner` (over any object with the methods of
``caruso.scripts/1``: the service in process or a client proxy):

- each turn returns the text to speak (information items are spoken and continued
  on their own) and whether the call's dialog is over;
- choice options are keys 1 to 9 in script order; yes is 1, no is 2; numbers,
  amounts (``*`` for the decimal mark of the script's locale) and dates (``YYYYMMDD``) are keyed and ended
  with ``#``; ``#`` alone skips an optional question; ``*`` alone goes back;
- a key that is no option, or an answer the script rejects, is said and the
  question repeated; a question the keypad cannot answer (text, or more than nine
  options) ends the dialog with outcome ``agent_needed``.
"""
from __future__ import annotations

from typing import Any

from caruso_core.digits import digits

from caruso_scripts.client import AnswerRejected, IvrTurn

AGENT = "agent_needed"
ONE_KEY, UNTIL_HASH = "one", "until_hash"     # how a turn's answer is keyed
HOW = {
    "yesno": "For yes, press 1. For no, press 2.",
    "number": "Enter the number, then press the hash key.",
    "amount": "Enter the amount, using the star key for the decimal point, then press the hash key.",
    "date": "Enter the date as year, month and day, for example 2 0 2 6 0 5 0 1, then press the hash key.",
}


class IvrRunner:
    def __init__(self, api: Any) -> None:
        self.api = api

    def begin(self, script: str, context: dict[str, Any] | None = None) -> IvrTurn:
        """Start a dialog for a call and say its first prompt."""
        return self._turn(self.api.begin(script, context or {}), [])

    def press(self, session: str, keys: str) -> IvrTurn:
        """The caller keyed ``keys`` (digits, ``*``, ``#``) in answer to the current prompt."""
        view = self.api.current(session)
        step = view["step"]
        if view["status"] != "active":
            return IvrTurn(session, step.get("text", ""), True, view["outcome"])
        if keys == "*" and view["can_go_back"]:
            return self._turn(self.api.back(session), [])
        try:
            answer = self._answer(step, keys)
        except ValueError:
            return self._turn(view, ["Sorry, that is not one of the options."])
        try:
            return self._turn(self.api.answer(session, answer, view["seq"]), [])
        except AnswerRejected as error:
            return self._turn(view, [error.message])

    def _answer(self, step: dict[str, Any], keys: str) -> Any:
        body = keys[:-1] if keys.endswith("#") else keys
        if body == "":
            return None
        if step["type"] in ("choice", "yesno"):
            choices = [o["value"] for o in step["options"]] if step["type"] == "choice" else [True, False]
            if not digits(body) or not 1 <= int(body) <= len(choices):
                raise ValueError(keys)
            return choices[int(body) - 1]
        if not body.replace("*", "").isdigit() or body.count("*") > 1:
            raise ValueError(keys)
        return body.replace("*", step.get("decimal", "."))

    def _turn(self, view: dict[str, Any], said: list[str]) -> IvrTurn:
        while view["status"] == "active" and view["step"]["kind"] == "info":
            said.append(view["step"]["text"])
            view = self.api.answer(view["session"], None, view["seq"])
        step = view["step"]
        if view["status"] != "active":
            said.append(step.get("text", ""))
            return IvrTurn(view["session"], " ".join(s for s in said if s), True, view["outcome"])
        options = step.get("options", [])
        if step["type"] == "text" or len(options) > 9:
            ended = self.api.finish(view["session"], AGENT)
            said.append("Please hold: one of our agents will help you.")
            return IvrTurn(view["session"], " ".join(said), True, ended["outcome"])
        said.append(step["text"])
        if step["type"] == "choice":
            said += [f"For {o['label']}, press {n}." for n, o in enumerate(options, 1)]
        else:
            said.append(HOW[step["type"]])
        keys = ONE_KEY if step["type"] in ("choice", "yesno") else UNTIL_HASH
        return IvrTurn(view["session"], " ".join(s for s in said if s), False, None, keys)
