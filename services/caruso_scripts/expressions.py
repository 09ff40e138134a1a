"""The safe expression language of dialog scripts.

Grammar (lowest precedence first)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") sum]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := "-" unary | postfix
    postfix    := primary ("." NAME)*
    primary    := NUMBER | STRING | "true" | "false" | "null" | NAME | NAME "(" [expr ("," expr)*] ")"
                | "(" expr ")" | "[" [expr ("," expr)*] "]"

Values: text, whole and decimal numbers (``Decimal``, never float), booleans, null,
dates, lists and records (bound business objects, read with ``.field``).

Contract:

- :func:`parse` turns source text into a tree or raises :class:`ExpressionError` with the
  column; there is no power operator, no indexing, no lambda, nothing but the grammar.
- :meth:`Expression.check` lists load-time defects against the names a script defines:
  unknown names, attributes starting with ``_``, calls outside :data:`FUNCTIONS` or with
  the wrong number of arguments.
- Evaluation cost is bounded: source length, tree size and nesting are limited at parse
  time, every text, list and number produced is limited in size and nesting, and every
  evaluation spends from the budget of its answer (``caruso_scripts.bounds``). A failure
  during evaluation is an :class:`ExpressionError`, never another exception.
"""
from __future__ import annotations

import datetime
import decimal
import re
from typing import Any, Callable, Iterator, Mapping

import attrs

from caruso_scripts.bounds import LIMITS, Budget, measure
from caruso_scripts.errors import ExpressionError
from caruso_scripts.numbers import ENGLISH, NumberFormat

NUMBER_TYPES = frozenset({int, decimal.Decimal})


DECIMALS = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN, traps=[
    decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<power>\*\*)
  | (?P<op>==|!=|<=|>=|[<>+\-*/%().,\[\]])
""", re.VERBOSE)
KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


@attrs.frozen
class Token:
    kind: str
    text: str
    column: int


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``; unknown characters and ``**`` are errors with their column."""
    if len(source) > LIMITS.source:
        raise ExpressionError(f"expression is longer than {LIMITS.source} characters", 1)
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        match = TOKEN.match(source, position)
        if match is None:
            raise ExpressionError(f"unexpected character {source[position]!r}", position + 1)
        kind = match.lastgroup or ""
        if kind == "power":
            raise ExpressionError("'**' (power) is not part of the expression language", position + 1)
        if kind != "space":
            text = match.group()
            if kind == "name" and text in KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, text, position + 1))
        position = match.end()
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


class Scope:
    """What names mean during one evaluation: a mapping of values, today's date, the
    budget of the answer the evaluation is part of (a fresh one if not given) and how
    numbers are written as text (``numbers``, English if not given)."""

    __slots__ = ("values", "today", "budget", "numbers")

    def __init__(self, values: Mapping[str, Any], today: datetime.date | None = None,
                 budget: Budget | None = None, numbers: NumberFormat = ENGLISH) -> None:
        self.values = values
        self.today = today or datetime.date.today()
        self.budget = budget or Budget()
        self.numbers = numbers

    def extended(self, values: Mapping[str, Any]) -> "Scope":
        """This scope with ``values`` added (same date, budget and numbers)."""
        return Scope({**self.values, **values}, self.today, self.budget, self.numbers)


class Node:
    """A node of an expression tree."""

    column: int

    def evaluate(self, scope: Scope) -> Any:
        raise NotImplementedError

    def children(self) -> tuple["Node", ...]:
        return ()

    def walk(self) -> Iterator["Node"]:
        yield self
        for child in self.children():
            yield from child.walk()


@attrs.frozen
class Literal(Node):
    value: Any
    column: int

    def evaluate(self, scope: Scope) -> Any:
        return self.value


@attrs.frozen
class Name(Node):
    name: str
    column: int

    def evaluate(self, scope: Scope) -> Any:
        try:
            return scope.values[self.name]
        except KeyError:
            return None


@attrs.frozen
class Attribute(Node):
    target: Node
    name: str
    column: int

    def children(self) -> tuple[Node, ...]:
        return (self.target,)

    def evaluate(self, scope: Scope) -> Any:
        record = self.target.evaluate(scope)
        if record is None:
            return None
        if not isinstance(record, Mapping):
            raise ExpressionError(f"'.{self.name}' needs a record, not {kind_of(record)}", self.column)
        return record.get(self.name)

    def path(self) -> list[str] | None:
        """``["customer", "address", "city"]`` for ``customer.address.city``; None if not a name path."""
        if isinstance(self.target, Name):
            return [self.target.name, self.name]
        if isinstance(self.target, Attribute):
            head = self.target.path()
            return None if head is None else [*head, self.name]
        return None


@attrs.frozen
class ListDisplay(Node):
    items: tuple[Node, ...]
    column: int

    def children(self) -> tuple[Node, ...]:
        return self.items

    def evaluate(self, scope: Scope) -> Any:
        found = [item.evaluate(scope) for item in self.items]
        try:
            measure(found, LIMITS.size, scope.budget)
        except ExpressionError as error:
            raise ExpressionError(error.message, self.column) from None
        return found


@attrs.frozen
class Call(Node):
    function: str
    arguments: tuple[Node, ...]
    column: int

    def children(self) -> tuple[Node, ...]:
        return self.arguments

    def evaluate(self, scope: Scope) -> Any:
        spec = FUNCTIONS[self.function]
        values = [argument.evaluate(scope) for argument in self.arguments]
        try:
            result = spec.implementation(scope, *values)
        except ExpressionError as error:
            raise ExpressionError(f"{self.function}(): {error.message}", self.column) from None
        except (ValueError, TypeError, ArithmeticError, OverflowError):
            raise ExpressionError(f"{self.function}() cannot take "
                                  f"{', '.join(kind_of(v) for v in values) or 'no arguments'}",
                                  self.column) from None
        return bounded(result, self.column)


@attrs.frozen
class Unary(Node):
    operator: str
    operand: Node
    column: int

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def evaluate(self, scope: Scope) -> Any:
        value = self.operand.evaluate(scope)
        if self.operator == "not":
            return not bool(value)
        if not is_number(value):
            raise ExpressionError(f"'-' needs a number, not {kind_of(value)}", self.column)
        return -value


@attrs.frozen
class Logical(Node):
    operator: str
    left: Node
    right: Node
    column: int

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def evaluate(self, scope: Scope) -> Any:
        left = bool(self.left.evaluate(scope))
        if self.operator == "and":
            return left and bool(self.right.evaluate(scope))
        return left or bool(self.right.evaluate(scope))


@attrs.frozen
class Binary(Node):
    operator: str
    left: Node
    right: Node
    column: int

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def evaluate(self, scope: Scope) -> Any:
        left = self.left.evaluate(scope)
        right = self.right.evaluate(scope)
        operator = self.operator
        if operator == "==":
            return equal(left, right)
        if operator == "!=":
            return not equal(left, right)
        if operator in COMPARISONS:
            return self._order(left, right)
        if operator in ("in", "not in"):
            found = self._member(left, right)
            return found if operator == "in" else not found
        return bounded(self._arithmetic(left, right), self.column)

    def _order(self, left: Any, right: Any) -> bool:
        comparable = ((is_number(left) and is_number(right))
                      or (type(left) is type(right) and isinstance(left, (str, datetime.date))))
        if not comparable:
            raise ExpressionError(f"cannot compare {kind_of(left)} with {kind_of(right)} "
                                  f"using '{self.operator}'", self.column)
        if self.operator == "<":
            return left < right
        if self.operator == "<=":
            return left <= right
        if self.operator == ">":
            return left > right
        return left >= right

    def _member(self, item: Any, container: Any) -> bool:
        if isinstance(container, str) and isinstance(item, str):
            return item in container
        if isinstance(container, list):
            return any(equal(item, element) for element in container)
        if isinstance(container, Mapping) and isinstance(item, str):
            return item in container
        raise ExpressionError(f"'in' needs a list or text on the right, not {kind_of(container)}",
                              self.column)

    def _arithmetic(self, left: Any, right: Any) -> Any:
        operator = self.operator
        if operator == "+" and isinstance(left, str) and isinstance(right, str):
            return left + right
        if not (is_number(left) and is_number(right)):
            raise ExpressionError(f"'{operator}' cannot combine {kind_of(left)} and {kind_of(right)}",
                                  self.column)
        try:
            if operator == "+":
                return left + right
            if operator == "-":
                return left - right
            if operator == "*":
                return left * right
            if operator == "/":
                return DECIMALS.divide(decimal.Decimal(left), decimal.Decimal(right))
            return left % right
        except (ArithmeticError, decimal.InvalidOperation):
            raise ExpressionError(f"'{operator}' failed on {left} and {right} (division by zero?)",
                                  self.column) from None


@attrs.frozen
class Expression:
    """A parsed expression: its source, its tree, the names and functions it uses.

    Each evaluation spends the number of its parts from the scope's budget."""

    source: str
    tree: Node
    parts: int = attrs.field(init=False, eq=False, repr=False, default=attrs.Factory(
        lambda self: sum(1 for _ in self.tree.walk()), takes_self=True))

    def evaluate(self, scope: Scope) -> Any:
        scope.budget.spend(self.parts)
        return self.tree.evaluate(scope)

    def names(self) -> set[str]:
        """The free names the expression reads."""
        return {node.name for node in self.tree.walk() if isinstance(node, Name)}

    def paths(self) -> list[tuple[list[str], int]]:
        """Longest dotted name paths (``customer.address.city``) with their columns."""
        inner = {id(node.target) for node in self.tree.walk() if isinstance(node, Attribute)}
        found = []
        for node in self.tree.walk():
            if isinstance(node, Attribute) and id(node) not in inner:
                path = node.path()
                if path is not None:
                    found.append((path, node.column))
        return found

    def check(self, known: set[str]) -> list[ExpressionError]:
        """Load-time defects: unknown names, private attributes, unknown calls or arities."""
        problems: list[ExpressionError] = []
        for node in self.tree.walk():
            if isinstance(node, Name) and node.name not in known:
                hint = f"; known: {', '.join(sorted(known))}" if len(known) <= 20 else ""
                problems.append(ExpressionError(f"unknown name '{node.name}'{hint}", node.column))
            elif isinstance(node, Attribute) and node.name.startswith("_"):
                problems.append(ExpressionError(f"private attribute '{node.name}' is not allowed",
                                                node.column))
            elif isinstance(node, Call):
                spec = FUNCTIONS.get(node.function)
                if spec is None:
                    problems.append(ExpressionError(
                        f"'{node.function}' is not a function of the expression language "
                        f"(functions: {', '.join(sorted(FUNCTIONS))})", node.column))
                elif not spec.takes(len(node.arguments)):
                    problems.append(ExpressionError(
                        f"{node.function}() takes {spec.arity()} argument(s), "
                        f"not {len(node.arguments)}", node.column))
        return problems


class _Parser:
    """Recursive descent over the tokens, bounding tree size and nesting."""

    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.index = 0
        self.nodes = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            return self.advance()
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.accept(kind, text)
        if token is None:
            raise ExpressionError(f"expected {what}, found {describe(self.current)}", self.current.column)
        return token

    def node(self, node: Node) -> Node:
        self.nodes += 1
        if self.nodes > LIMITS.nodes:
            raise ExpressionError(f"expression is too large (more than {LIMITS.nodes} parts)", node.column)
        return node

    def parse(self) -> Node:
        tree = self.expression()
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {describe(self.current)}", self.current.column)
        return tree

    def nested(self, parse: Callable[[], Node], column: int) -> Node:
        """``parse()`` one level deeper; too deep a nesting is an error at ``column``."""
        self.depth += 1
        if self.depth > LIMITS.depth:
            raise ExpressionError(f"expression nests deeper than {LIMITS.depth} levels", column)
        tree = parse()
        self.depth -= 1
        return tree

    def expression(self) -> Node:
        return self.nested(self.disjunction, self.current.column)

    def disjunction(self) -> Node:
        left = self.conjunction()
        while (token := self.accept("keyword", "or")) is not None:
            left = self.node(Logical("or", left, self.conjunction(), token.column))
        return left

    def conjunction(self) -> Node:
        left = self.negation()
        while (token := self.accept("keyword", "and")) is not None:
            left = self.node(Logical("and", left, self.negation(), token.column))
        return left

    def negation(self) -> Node:
        token = self.current
        if token.kind == "keyword" and token.text == "not":
            self.advance()
            return self.node(Unary("not", self.nested(self.negation, token.column), token.column))
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        token = self.current
        if token.kind == "op" and token.text in COMPARISONS:
            self.advance()
            return self.node(Binary(token.text, left, self.sum(), token.column))
        if self.accept("keyword", "in"):
            return self.node(Binary("in", left, self.sum(), token.column))
        if token.kind == "keyword" and token.text == "not":
            self.advance()
            self.expect("keyword", "in", "'in' after 'not'")
            return self.node(Binary("not in", left, self.sum(), token.column))
        return left

    def sum(self) -> Node:
        left = self.product()
        while self.current.kind == "op" and self.current.text in ("+", "-"):
            token = self.advance()
            left = self.node(Binary(token.text, left, self.product(), token.column))
        return left

    def product(self) -> Node:
        left = self.unary()
        while self.current.kind == "op" and self.current.text in ("*", "/", "%"):
            token = self.advance()
            left = self.node(Binary(token.text, left, self.unary(), token.column))
        return left

    def unary(self) -> Node:
        token = self.accept("op", "-")
        if token is None:
            return self.postfix()
        return self.node(Unary("-", self.nested(self.unary, token.column), token.column))

    def postfix(self) -> Node:
        tree = self.primary()
        while (dot := self.accept("op", ".")) is not None:
            name = self.accept("name")
            if name is None:
                raise ExpressionError(f"expected a field name after '.', found {describe(self.current)}",
                                      self.current.column)
            tree = self.node(Attribute(tree, name.text, dot.column + 1))
        return tree

    def primary(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            value: Any = decimal.Decimal(token.text) if "." in token.text else int(token.text)
            return self.node(Literal(bounded(value, token.column), token.column))
        if token.kind == "string":
            return self.node(Literal(unquote(token.text), token.column))
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            return self.node(Literal({"true": True, "false": False, "null": None}[token.text], token.column))
        if token.kind == "name":
            if self.accept("op", "("):
                return self.node(Call(token.text, self.items(")"), token.column))
            return self.node(Name(token.text, token.column))
        if token.kind == "op" and token.text == "(":
            tree = self.expression()
            self.expect("op", ")", "')'")
            return tree
        if token.kind == "op" and token.text == "[":
            return self.node(ListDisplay(self.items("]"), token.column))
        raise ExpressionError(f"unexpected {describe(token)}", token.column)

    def items(self, closing: str) -> tuple[Node, ...]:
        found: list[Node] = []
        if self.accept("op", closing):
            return ()
        while True:
            found.append(self.expression())
            if self.accept("op", closing):
                return tuple(found)
            self.expect("op", ",", f"',' or '{closing}'")


def parse(source: str) -> Expression:
    """Parse ``source`` into an :class:`Expression`; syntax errors carry the column."""
    if not source.strip():
        raise ExpressionError("empty expression", 1)
    return Expression(source, _Parser(source).parse())


def describe(token: Token) -> str:
    return "end of expression" if token.kind == "end" else f"'{token.text}'"


def unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def is_number(value: Any) -> bool:
    return type(value) in NUMBER_TYPES


def equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return bool(left == right)


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a record"
    return type(value).__name__


def bounded(value: Any, column: int) -> Any:
    """``value`` if it is within :data:`LIMITS`, else an ExpressionError."""
    kind = type(value)
    if kind in NUMBER_TYPES and abs(value) > LIMITS.magnitude:
        raise ExpressionError(f"number is larger than {LIMITS.magnitude}", column)
    if kind is str and len(value) > LIMITS.text:
        raise ExpressionError(f"text is longer than {LIMITS.text} characters", column)
    if kind is list and len(value) > LIMITS.items:
        raise ExpressionError(f"list is longer than {LIMITS.items} items", column)
    return value


def as_date(value: Any) -> datetime.date:
    """A date from a date or an ISO text (``2026-05-01``, a datetime's date part too)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    raise ExpressionError(f"expected a date, not {kind_of(value)}")


def as_number(value: Any, numbers: NumberFormat = ENGLISH) -> int | decimal.Decimal:
    """A number, or one from text written as ``numbers`` says (``1,250.5`` in English)."""
    if is_number(value):
        return value
    if isinstance(value, str):
        try:
            text = numbers.canonical(value)
        except ValueError as error:
            raise ExpressionError(str(error)) from None
        if re.fullmatch(r"-?\d{1,16}(\.\d{1,10})?", text):
            return decimal.Decimal(text) if "." in text else int(text)
    raise ExpressionError(f"expected a number, not {kind_of(value)}")


def as_text(value: Any, numbers: NumberFormat = ENGLISH) -> str:
    """A value shown to people: decimals with the decimal mark of ``numbers``, dates as
    ``YYYY-MM-DD``, booleans as yes/no, null as nothing, lists joined with commas."""
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    if type(value) is decimal.Decimal:
        return numbers.show(str(value))
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(as_text(item, numbers) for item in value)
    if isinstance(value, Mapping):
        raise ExpressionError("a record cannot be shown as text; name one of its fields")
    return str(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"expected text, not {kind_of(value)}")
    return value


def _round(scope: Scope, value: Any, places: Any = 0) -> Any:
    number = as_number(value, scope.numbers)
    if not isinstance(places, int) or not 0 <= places <= 10:
        raise ExpressionError("round() takes 0 to 10 decimal places")
    rounded = decimal.Decimal(number).quantize(decimal.Decimal(1).scaleb(-places),
                                               rounding=decimal.ROUND_HALF_UP)
    return int(rounded) if places == 0 else rounded


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def implementation(scope: Scope, *values: Any) -> Any:
        items = values[0] if len(values) == 1 and isinstance(values[0], list) else list(values)
        numbers = [as_number(v, scope.numbers) for v in items if v is not None]
        if not numbers:
            return None
        return pick(numbers)
    return implementation


def _add_hours(scope: Scope, moment: Any, hours: Any) -> str:
    try:
        start = datetime.datetime.fromisoformat(_text(moment))
        later = start + datetime.timedelta(hours=float(as_number(hours, scope.numbers)))
    except ValueError:
        raise ExpressionError(f"add_hours() needs a date and time 'YYYY-MM-DDTHH:MM:SS', not {moment!r}") from None
    except OverflowError:
        raise ExpressionError("add_hours() goes beyond the calendar") from None
    return later.strftime("%Y-%m-%dT%H:%M:%S")


def _choose(scope: Scope, value: Any, *cases: Any) -> Any:
    for match, result in zip(cases[:-1:2], cases[1::2]):
        if equal(value, match):
            return result
    return cases[-1]


def _length(scope: Scope, value: Any) -> int:
    if isinstance(value, (str, list)):
        return len(value)
    if value is None:
        return 0
    raise ExpressionError(f"len() needs text or a list, not {kind_of(value)}")


@attrs.frozen
class Function:
    """A function of the language: its implementation (scope first) and arity."""

    implementation: Callable[..., Any]
    minimum: int
    maximum: int
    doc: str
    even: bool = False          # takes an even number of arguments only

    def takes(self, count: int) -> bool:
        return self.minimum <= count <= self.maximum and not (self.even and count % 2)

    def arity(self) -> str:
        counted = str(self.minimum) if self.minimum == self.maximum else f"{self.minimum} to {self.maximum}"
        return f"an even number of {counted}" if self.even else counted


FUNCTIONS: dict[str, Function] = {
    "today": Function(lambda s: s.today, 0, 0, "the current date"),
    "now": Function(lambda s: datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), 0, 0,
                    "the current UTC date and time as ISO text 'YYYY-MM-DDTHH:MM:SS'"),
    "date": Function(lambda s, v: as_date(v), 1, 1, "a date from ISO text 'YYYY-MM-DD'"),
    "add_days": Function(lambda s, d, n: as_date(d) + datetime.timedelta(days=int(as_number(n, s.numbers))), 2, 2,
                         "the date n days after d"),
    "add_hours": Function(_add_hours, 2, 2, "the date and time n hours after t (ISO text, as now() gives)"),
    "days_between": Function(lambda s, a, b: (as_date(b) - as_date(a)).days, 2, 2,
                             "days from date a to date b"),
    "year": Function(lambda s, d: as_date(d).year, 1, 1, "the year of a date"),
    "month": Function(lambda s, d: as_date(d).month, 1, 1, "the month of a date (1-12)"),
    "day": Function(lambda s, d: as_date(d).day, 1, 1, "the day of the month of a date"),
    "weekday": Function(lambda s, d: as_date(d).isoweekday(), 1, 1, "1 (Monday) to 7 (Sunday)"),
    "len": Function(_length, 1, 1, "the length of a text or list"),
    "lower": Function(lambda s, v: _text(v).lower(), 1, 1, "text in lower case"),
    "upper": Function(lambda s, v: _text(v).upper(), 1, 1, "text in upper case"),
    "trim": Function(lambda s, v: _text(v).strip(), 1, 1, "text without surrounding blanks"),
    "starts_with": Function(lambda s, v, p: _text(v).startswith(_text(p)), 2, 2,
                            "whether a text starts with another"),
    "text": Function(lambda s, v: as_text(v, s.numbers), 1, 1, "any value as text (as shown to people)"),
    "number": Function(lambda s, v: as_number(v, s.numbers), 1, 1, "a number from text (by the locale)"),
    "round": Function(_round, 1, 2, "a number rounded half up to n decimal places"),
    "abs": Function(lambda s, v: abs(as_number(v, s.numbers)), 1, 1, "the absolute value"),
    "min": Function(_extreme(min), 1, 20, "the smallest number (of the arguments or of a list)"),
    "max": Function(_extreme(max), 1, 20, "the largest number (of the arguments or of a list)"),
    "coalesce": Function(lambda s, *v: next((x for x in v if x is not None), None), 1, 20,
                         "the first argument that is not null"),
    "choose": Function(_choose, 4, 40, "the result after the first match equal to the value, else the last "
                       "argument: choose(value, match, result, ..., otherwise)", even=True),
}
