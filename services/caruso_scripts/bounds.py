"""What one expression, one value, one shown text, one session and one answer may cost.

Contract:

- :data:`LIMITS` holds every bound of the script engine (docs/script-format.md,
  "Bounds"); they are fixed, not configured.
- :func:`measure` returns the size of a value (the characters of its texts and field
  names, plus :data:`PART` for every other part: number, date, boolean, null, list,
  record) or raises :class:`ExpressionError` when the value is larger than the limit
  given or nests lists and records deeper than ``LIMITS.nesting``. It visits at most
  about ``limit / PART`` parts, however the value shares its lists, and spends them
  from the budget given.
- A :class:`Budget` is the work of one answer (or of showing one step): evaluation
  operations, steps passed without waiting for input and actions. Spending beyond it
  raises :class:`ExpressionError` (operations) or :class:`DialogError` (steps, actions).
"""
from __future__ import annotations

from typing import Any, Iterable

import attrs

from caruso_scripts.client import DialogError
from caruso_scripts.errors import ExpressionError

PART = 10


@attrs.frozen
class Limits:
    """The bounds; see docs/script-format.md."""

    source: int = 2000          # characters of one expression
    nodes: int = 300            # parts of one expression
    depth: int = 40             # nesting of one expression
    magnitude: int = 10**15     # every number stays within +-magnitude
    text: int = 10_000          # characters of a text value, and of a text as shown
    items: int = 1_000          # items of one list
    nesting: int = 10           # levels of lists and records inside a value
    size: int = 100_000         # size of one value, and of all the data of a session
    history: int = 1_000_000    # size of the earlier states kept for going back
    operations: int = 100_000   # evaluation operations of one answer or one shown step
    steps: int = 100            # steps one answer passes before the dialog waits again
    actions: int = 20           # actions one answer runs


LIMITS = Limits()


def measure(value: Any, limit: int = LIMITS.size, budget: "Budget | None" = None, what: str = "a value") -> int:
    """The size of ``value``; see the module's contract."""
    kind = type(value)
    if kind is list or kind is dict:
        return measure_all([value], limit, budget, what)
    size = len(value) if kind is str else PART
    if size > limit:
        raise ExpressionError(f"{what} is larger than {limit} characters")
    return size


def measure_all(values: Iterable[Any], limit: int, budget: "Budget | None" = None, what: str = "a value") -> int:
    """The size of several values together; ``what`` names them in the error."""
    size = -PART                            # the values are walked as the items of a list that does not count
    visits = 0
    pending: list[tuple[Iterable[Any], int]] = [(values, -1)]
    while pending:
        item, level = pending.pop()
        if level >= LIMITS.nesting:
            raise ExpressionError(f"a value nests lists and records deeper than {LIMITS.nesting} levels")
        size += PART
        if type(item) is dict:
            size += sum(map(len, map(str, item)))
            item = item.values()
        for inner in item:
            visits += 1
            kind = type(inner)
            if kind is str:
                size += len(inner)
            elif kind is list or kind is dict:
                pending.append((inner, level + 1))
            else:
                size += PART
        if size > limit:
            raise ExpressionError(f"{what} is larger than {limit} characters")
    if budget is not None:
        budget.spend(visits)
    return size


class Budget:
    """The work one answer may still do; see the module's contract."""

    __slots__ = ("operations", "steps", "actions")

    def __init__(self) -> None:
        self.operations = LIMITS.operations
        self.steps = LIMITS.steps
        self.actions = LIMITS.actions

    def spend(self, operations: int) -> None:
        self.operations -= operations
        if self.operations < 0:
            raise ExpressionError(f"the answer needs more than {LIMITS.operations} operations")

    def step(self, where: str) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise DialogError(f"the answer passes more than {LIMITS.steps} steps without waiting for input "
                              f"(at '{where}'; do sub-scripts or transitions run in a circle?)")

    def act(self, where: str) -> None:
        self.actions -= 1
        if self.actions < 0:
            raise DialogError(f"the answer runs more than {LIMITS.actions} actions (at '{where}')")
