"""A loaded dialog script: steps, transitions, actions, bindings, as immutable values.

Every element keeps the ``line`` it came from, so run-time errors and tool output can
point into the file. Expressions are already parsed and checked (see ``loader``).
"""
from __future__ import annotations

from typing import Any, Iterable, Union

import attrs

from caruso_scripts.bounds import LIMITS
from caruso_scripts.client import DialogError
from caruso_scripts.errors import ExpressionError
from caruso_scripts.expressions import Expression, Scope, as_text
from caruso_scripts.numbers import NumberFormat


@attrs.frozen
class Template:
    """Text with ``{expression}`` parts (``{{`` and ``}}`` stand for braces)."""

    parts: tuple[Union[str, Expression], ...]

    def render(self, scope: Scope) -> str:
        """The text as shown; an ExpressionError as soon as it is longer than ``LIMITS.text``."""
        shown: list[str] = []
        length = 0
        for part in self.parts:
            text = part if isinstance(part, str) else as_text(part.evaluate(scope), scope.numbers)
            length += len(text)
            if length > LIMITS.text:
                raise ExpressionError(f"the text is longer than {LIMITS.text} characters when shown")
            shown.append(text)
        return "".join(shown)

    def literal_length(self) -> int:
        """Characters of the text outside its ``{expression}`` parts."""
        return sum(len(part) for part in self.parts if isinstance(part, str))

    def expressions(self) -> list[Expression]:
        return [part for part in self.parts if isinstance(part, Expression)]


@attrs.frozen
class Param:
    """A named argument of an action or sub-script: an expression or a text template."""

    name: str
    value: Union[Expression, Template]
    line: int

    def evaluate(self, scope: Scope) -> Any:
        if isinstance(self.value, Template):
            return self.value.render(scope)
        return self.value.evaluate(scope)


@attrs.frozen
class Action:
    """An action run when its transition is taken, e.g. ``email`` or ``store``."""

    name: str
    params: tuple[Param, ...]
    line: int


@attrs.frozen
class Assignment:
    """``<set var=... value=...>``: a variable gets the value of an expression."""

    var: str
    value: Expression
    line: int


@attrs.frozen
class Transition:
    """``<go to=... if=...>``: the next step when the condition holds (or always)."""

    target: str
    condition: Expression | None
    assignments: tuple[Assignment, ...]
    actions: tuple[Action, ...]
    line: int


@attrs.frozen
class Option:
    value: str
    label: str


@attrs.frozen
class Validation:
    """A rule the answer must satisfy; ``message`` is shown when it does not."""

    rule: Expression
    message: str
    line: int


@attrs.frozen
class Question:
    id: str
    line: int
    type: str
    prompt: Template
    transitions: tuple[Transition, ...]
    required: bool = True
    options: tuple[Option, ...] = ()
    minimum: Expression | None = None
    maximum: Expression | None = None
    maxlength: int = 500
    validations: tuple[Validation, ...] = ()
    currency: str | None = None              # an amount's ISO 4217 code: another one written is refused
    kind = "question"


@attrs.frozen
class Info:
    id: str
    line: int
    text: Template
    transitions: tuple[Transition, ...]
    kind = "info"


@attrs.frozen
class SubScript:
    """Runs another script; its outcome becomes the value of this step's id."""

    id: str
    line: int
    script: "Script"
    params: tuple[Param, ...]
    transitions: tuple[Transition, ...]
    kind = "subscript"


@attrs.frozen
class End:
    """Ends the dialog with ``outcome``; ``disposition`` and ``next`` (the next action) are
    what an agent's desk suggests when the dialog ended here."""

    id: str
    line: int
    outcome: str
    text: Template | None
    transitions: tuple[Transition, ...] = ()
    disposition: str | None = None
    next: str | None = None
    kind = "end"


Step = Union[Question, Info, SubScript, End]


@attrs.frozen
class Binding:
    """A business object loaded through the storage service when the script starts.

    Without ``field`` the object whose key is ``key``; with ``field`` the first object
    (by ``order``, e.g. ``-read_on``, else by key) whose ``field`` equals ``key``.
    """

    name: str
    object: str
    key: Expression
    required: bool
    line: int
    field: str | None = None
    order: str | None = None


@attrs.frozen
class Variable:
    name: str
    initial: Expression | None
    line: int


@attrs.frozen
class Script:
    """A whole dialog script as loaded from ``source``; ``numbers`` is how its numbers are
    written (from its ``locale``; None: as the engine's locale says)."""

    id: str
    version: str
    title: str
    description: str
    source: str
    start: str
    bindings: tuple[Binding, ...]
    variables: tuple[Variable, ...]
    steps: dict[str, Step]
    numbers: NumberFormat | None = None

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]

    def names(self) -> set[str]:
        """The names expressions of this script may read."""
        return ({"context"} | {b.name for b in self.bindings} | {v.name for v in self.variables}
                | {s.id for s in self.steps.values() if isinstance(s, (Question, SubScript))})

    def context_reads(self, given: frozenset[str] = frozenset()) -> list[tuple["Script", Binding, str]]:
        """``(script, binding, name)`` for each context name not in ``given`` that the key of a
        required binding reads, in this script and its sub-scripts (whose context is this one's
        plus their parameters: a parameter the binding reads stands for the context names its
        value reads here): what whoever starts the script must give."""
        found = [(self, binding, name) for binding in self.bindings if binding.required
                 for name in _context_names([binding.key]) if name not in given]
        for step in self.steps.values():
            if isinstance(step, SubScript):
                params = {param.name: param for param in step.params}
                for script, binding, name in step.script.context_reads():
                    names = _context_names(e for e, _ in _param_expressions((params[name],))) \
                        if name in params else [name]
                    found += [(script, binding, read) for read in names if read not in given]
        return found

    def sub(self, path: list[str]) -> "Script":
        """The script run by the chain of sub-script steps ``path`` (empty: this one)."""
        script = self
        for step_id in path:
            step = script.steps.get(step_id)
            if not isinstance(step, SubScript):
                raise DialogError(f"{script.source}: no sub-script step {step_id!r} (the script changed?)")
            script = step.script
        return script

    def expressions(self) -> list[tuple[Expression, int]]:
        """Every expression of this script (not of its sub-scripts) with its line."""
        found: list[tuple[Expression, int]] = [(b.key, b.line) for b in self.bindings]
        found += [(v.initial, v.line) for v in self.variables if v.initial is not None]
        for step in self.steps.values():
            templates = [getattr(step, name) for name in ("prompt", "text") if getattr(step, name, None)]
            found += [(e, step.line) for template in templates for e in template.expressions()]
            if isinstance(step, Question):
                found += [(e, step.line) for e in (step.minimum, step.maximum) if e is not None]
                found += [(v.rule, v.line) for v in step.validations]
            if isinstance(step, SubScript):
                found += _param_expressions(step.params)
            for transition in step.transitions:
                if transition.condition is not None:
                    found.append((transition.condition, transition.line))
                found += [(a.value, a.line) for a in transition.assignments]
                for action in transition.actions:
                    found += _param_expressions(action.params)
        return found


def _context_names(expressions: Iterable[Expression]) -> list[str]:
    """The names of the context (``context.NAME``) that ``expressions`` read."""
    return [path[1] for expression in expressions for path, _ in expression.paths()
            if path[0] == "context" and len(path) > 1]


def _param_expressions(params: tuple[Param, ...]) -> list[tuple[Expression, int]]:
    found: list[tuple[Expression, int]] = []
    for param in params:
        parts = param.value.expressions() if isinstance(param.value, Template) else [param.value]
        found += [(e, param.line) for e in parts]
    return found
