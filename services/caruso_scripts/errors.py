"""Errors of the script engine found in script files.

``ScriptError`` is a defect of a script file found when it loads (one line: file,
line, what, how to fix). ``ExpressionError`` is a defect of one expression, raised
with the column; the loader turns it into a ``ScriptError`` with file and line.
The errors callers of ``caruso.scripts/1`` see, ``AnswerRejected`` and ``DialogError``,
are part of the interface's SDK, :mod:`caruso_scripts.client`.
"""
from __future__ import annotations

from caruso_core.errors import CarusoError, ConfigError


class ScriptError(ConfigError):
    """A script (or script test) file is invalid; the message names file and line."""


class ExpressionError(CarusoError):
    """An expression is invalid or failed to evaluate; ``column`` is 1-based or 0 if unknown."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message, column=column)
        self.column = column
