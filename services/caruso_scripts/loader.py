"""Loading dialog scripts from XML: schema, expressions, references, sub-scripts.

Contract: :func:`load` returns a :class:`Script` or raises :class:`ScriptError` naming
file and line of the first problem (and how many more there are); :func:`problems`
returns every problem as ``FILE:LINE: message`` lines. A script is valid when it is
well-formed XML read by ``caruso_core.xmlsafe`` (no entities, at most 1 MB), valid against ``schema/script.rng``, every
expression parses and uses only known names, fields not starting with ``_`` and the
fixed functions, every transition leads to a step of the script, and every
sub-script loads (without running itself again).
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Iterable

from lxml import etree

from caruso_core import xmlsafe
from caruso_core.errors import ConfigError
from caruso_scripts import expressions
from caruso_scripts.bounds import LIMITS
from caruso_scripts.errors import ExpressionError, ScriptError
from caruso_scripts.expressions import Expression
from caruso_scripts.model import (Action, Assignment, Binding, End, Info, Option, Param, Question,
                                  Script, Step, SubScript, Template, Transition, Validation, Variable)
from caruso_scripts.numbers import NumberFormat, number_format

RANGE_TYPES = {"number", "amount", "date"}
MAX_TEXT_ANSWER = 2000
MAX_BYTES = 1_000_000
SCHEMA = resources.files("caruso_scripts").joinpath("schema/script.rng")


def load(path: str | Path, actions: Iterable[str] | None = None) -> Script:
    """The script in ``path``; ``actions`` (if given) are the action names scripts may use."""
    loader = _Loader(None if actions is None else set(actions))
    script = loader.load(Path(path))
    if loader.problems or script is None:
        more = f" (and {len(loader.problems) - 1} more problem(s); run 'caruso script validate')" \
            if len(loader.problems) > 1 else ""
        raise ScriptError(loader.problems[0] + more)
    return script


def problems(path: str | Path, actions: Iterable[str] | None = None) -> list[str]:
    """Every problem of the script in ``path`` and its sub-scripts; empty when it is valid."""
    loader = _Loader(None if actions is None else set(actions))
    loader.load(Path(path))
    return loader.problems


def parse_template(text: str) -> Template:
    """A :class:`Template` from text with ``{expression}`` parts; errors carry the column."""
    parts: list[str | Expression] = []
    literal: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in "{}" and text[position:position + 2] in ("{{", "}}"):
            literal.append(char)
            position += 2
        elif char == "{":
            close = text.find("}", position)
            if close < 0:
                raise ExpressionError("'{' without a closing '}' (write '{{' for a brace)", position + 1)
            if literal:
                parts.append("".join(literal))
                literal = []
            try:
                parts.append(expressions.parse(text[position + 1:close]))
            except ExpressionError as error:
                raise ExpressionError(error.message, position + 1 + error.column) from None
            position = close + 1
        elif char == "}":
            raise ExpressionError("'}' without an opening '{' (write '}}' for a brace)", position + 1)
        else:
            literal.append(char)
            position += 1
    if literal:
        parts.append("".join(literal))
    return Template(tuple(parts))


def _some(names: list[str], shown: int = 20) -> str:
    """Up to ``shown`` of ``names`` for a message, saying how many more there are."""
    more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def text_of(element: etree._Element | None) -> str:
    """The element's text with runs of blanks and line breaks folded to one space."""
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


class _Loader:
    """Collects problems while building scripts; one instance per top-level load, which
    reads each sub-script file once however many steps run it."""

    def __init__(self, actions: set[str] | None) -> None:
        self.actions = actions
        self.problems: list[str] = []
        self.loading: list[Path] = []
        self.loaded: dict[Path, Script | None] = {}
        self.source = ""
        self.known: set[str] = set()

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(f"{self.source}:{line or 1}: {message}")

    def load(self, path: Path) -> Script | None:
        resolved = path.resolve()
        if resolved in self.loading:
            chain = " -> ".join(p.name for p in [*self.loading, resolved])
            self.problem(None, f"sub-scripts run each other in a circle: {chain}")
            return None
        if resolved in self.loaded:
            return self.loaded[resolved]
        outer, outer_known = self.source, self.known
        self.source = str(path)
        self.loading.append(resolved)
        try:
            self.loaded[resolved] = self._load(path)
            return self.loaded[resolved]
        finally:
            self.loading.pop()
            self.source, self.known = outer, outer_known

    def _load(self, path: Path) -> Script | None:
        try:
            root = xmlsafe.read(path, MAX_BYTES)
        except ConfigError as error:
            self.problems.append(error.message)
            return None
        schema = xmlsafe.schema(str(SCHEMA))
        if not schema.validate(root):
            for line, message in xmlsafe.violations(schema, root):
                self.problem(line, f"not a valid script: {message} (see docs/script-format.md)")
            return None
        return self.script(root, path)

    def script(self, root: etree._Element, path: Path) -> Script:
        step_elements = [e for e in root if isinstance(e.tag, str) and e.tag in ("question", "info", "subscript", "end")]
        declared: dict[str, int] = {}
        for element in root:
            if not isinstance(element.tag, str) or element.tag == "description":
                continue
            name = element.get("id") or element.get("name")
            if name in declared or name == "context":
                self.problem(element.sourceline, f"'{name}' is defined twice (also line {declared.get(name, '-')}); "
                             "steps, bindings and variables share one set of names")
            declared[name] = element.sourceline
        self.known = {"context"} | {e.get("name") for e in root if e.tag in ("bind", "var")} \
            | {e.get("id") for e in step_elements if e.tag in ("question", "subscript")}
        bindings = tuple(Binding(e.get("name"), e.get("object"), self.expression(e, "key"),
                                 e.get("required", "true") == "true", e.sourceline, e.get("field"), e.get("order"))
                         for e in root.iterchildren("bind"))
        variables = tuple(Variable(e.get("name"), self.expression(e, "value") if e.get("value") else None,
                                   e.sourceline) for e in root.iterchildren("var"))
        steps: dict[str, Step] = {}
        for element in step_elements:
            step = self.step(element, path)
            if step is not None:
                steps[step.id] = step
        step_ids = [e.get("id") for e in step_elements]
        known_steps = set(step_ids)
        start = root.get("start") or (step_ids[0] if step_ids else "")
        if start not in known_steps:
            self.problem(root.sourceline, f"start step '{start}' is not a step of the script")
        variable_names = {v.name for v in variables}
        for step in steps.values():
            for transition in step.transitions:
                if transition.target not in known_steps:
                    self.problem(transition.line, f"step '{step.id}' goes to '{transition.target}', "
                                 f"which is not a step (steps: {_some(step_ids)})")
                for assignment in transition.assignments:
                    if assignment.var not in variable_names:
                        self.problem(assignment.line, f"'{assignment.var}' is not a variable; "
                                     f"declare it with <var name=\"{assignment.var}\"/>")
        return Script(root.get("id"), root.get("version"), root.get("title") or root.get("id"),
                      text_of(root.find("description")), self.source, start, bindings, variables, steps,
                      self.numbers(root))

    def numbers(self, root: etree._Element) -> NumberFormat | None:
        """The number format of the script's ``locale`` (None without one)."""
        locale = root.get("locale")
        if locale is None:
            return None
        try:
            return number_format(locale)
        except ValueError as error:
            self.problem(root.sourceline, str(error))
            return None

    def step(self, element: etree._Element, path: Path) -> Step | None:
        step_id, line = element.get("id"), element.sourceline
        if element.tag == "end":
            text = element.find("text")
            return End(step_id, line, element.get("outcome"), None if text is None else self.template(text),
                       disposition=element.get("disposition"), next=element.get("next"))
        transitions = tuple(self.transition(go) for go in element.iterchildren("go"))
        if element.tag == "info":
            return Info(step_id, line, self.template(element.find("text")), transitions)
        if element.tag == "subscript":
            source = path.parent / element.get("src")
            if not source.is_file():
                self.problem(line, f"sub-script file '{element.get('src')}' does not exist "
                             f"(a path relative to {path.name})")
                return None
            script = self.load(source)
            if script is None:
                return None
            return SubScript(step_id, line, script, self.params(element), transitions)
        return self.question(element, transitions)

    def question(self, element: etree._Element, transitions: tuple[Transition, ...]) -> Question:
        kind, line = element.get("type"), element.sourceline
        options = tuple(Option(o.get("value"), text_of(o) or o.get("value")) for o in element.iterchildren("option"))
        if kind == "choice" and not options:
            self.problem(line, f"choice question '{element.get('id')}' has no <option>")
        if kind != "choice" and options:
            self.problem(line, f"only choice questions have options ('{element.get('id')}' is {kind})")
        if kind not in RANGE_TYPES and (element.get("min") or element.get("max")):
            self.problem(line, f"min/max apply to number, amount and date questions, not {kind}")
        if kind != "text" and element.get("maxlength"):
            self.problem(line, "maxlength applies to text questions only")
        if kind != "amount" and element.get("currency"):
            self.problem(line, "currency applies to amount questions only")
        maxlength = int(element.get("maxlength") or 500)
        if maxlength > MAX_TEXT_ANSWER:
            self.problem(line, f"maxlength is at most {MAX_TEXT_ANSWER}")
        validations = tuple(Validation(self.expression(v, "rule"), text_of(v) or "This answer is not accepted.",
                                       v.sourceline) for v in element.iterchildren("validate"))
        return Question(element.get("id"), line, kind, self.template(element.find("prompt")), transitions,
                        element.get("required", "true") == "true", options,
                        self.expression(element, "min") if element.get("min") else None,
                        self.expression(element, "max") if element.get("max") else None,
                        maxlength, validations, element.get("currency"))

    def transition(self, go: etree._Element) -> Transition:
        assignments = tuple(Assignment(s.get("var"), self.expression(s, "value"), s.sourceline)
                            for s in go.iterchildren("set"))
        actions = []
        for element in go.iterchildren("action"):
            name = element.get("name")
            if self.actions is not None and name not in self.actions:
                self.problem(element.sourceline, f"unknown action '{name}' "
                             f"(installed actions: {', '.join(sorted(self.actions)) or 'none'})")
            actions.append(Action(name, self.params(element), element.sourceline))
        return Transition(go.get("to"), self.expression(go, "if") if go.get("if") else None,
                          assignments, tuple(actions), go.sourceline)

    def params(self, element: etree._Element) -> tuple[Param, ...]:
        found = []
        for param in element.iterchildren("param"):
            value = self.expression(param, "value") if param.get("value") else self.template(param)
            found.append(Param(param.get("name"), value, param.sourceline))
        return tuple(found)

    def expression(self, element: etree._Element, attribute: str) -> Expression:
        source = element.get(attribute)
        try:
            expression = expressions.parse(source)
        except ExpressionError as error:
            self.problem(element.sourceline, f"<{element.tag} {attribute}=\"{source}\">: {error.message} "
                         f"(column {error.column})")
            return expressions.parse("null")
        self.checked(expression, element, f"<{element.tag} {attribute}=\"{source}\">")
        return expression

    def template(self, element: etree._Element) -> Template:
        text = text_of(element)
        try:
            template = parse_template(text)
        except ExpressionError as error:
            self.problem(element.sourceline, f"<{element.tag}> text: {error.message} (column {error.column})")
            return Template((text,))
        if template.literal_length() > LIMITS.text:
            self.problem(element.sourceline, f"<{element.tag}> text is longer than {LIMITS.text} characters; "
                         "shorten it or split it over several steps")
        for expression in template.expressions():
            self.checked(expression, element, f"<{element.tag}> text {{{expression.source}}}")
        return template

    def checked(self, expression: Expression, element: etree._Element, where: str) -> None:
        for error in expression.check(self.known):
            self.problem(element.sourceline, f"{where}: {error.message} (column {error.column})")
