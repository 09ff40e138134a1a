"""Errors of the script engine.

``ScriptError`` is a defect of a script file found when it loads (one line: file,
line, what, how to fix). ``ExpressionError`` is a defect of one expression, raised
with the column; the loader turns it into a ``ScriptError`` with file and line.
``AnswerRejected`` is a customer's or agent's answer that does not fit the question;
its message is meant for that person. ``DialogError`` is a dialog that cannot go on
(a script bug met at run time, e.g. no transition applies).
"""
from __future__ import annotations

from caruso_core.errors import CarusoError, ConfigError, InvalidInput


class ScriptError(ConfigError):
    """A script (or script test) file is invalid; the message names file and line."""


class ExpressionError(CarusoError):
    """An expression is invalid or failed to evaluate; ``column`` is 1-based or 0 if unknown."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message, column=column)
        self.column = column


class AnswerRejected(InvalidInput):
    """An answer does not fit its question; the message is written for the person answering."""


class DialogError(CarusoError):
    """The dialog cannot continue (no transition applies, an action failed, ...)."""
