"""The safe expression language: parsing, checking at load, evaluation, bounded cost."""
import datetime
import decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caruso_scripts import expressions
from caruso_scripts.errors import ExpressionError
from caruso_scripts.expressions import LIMITS, Scope, parse

TODAY = datetime.date(2026, 3, 2)


def evaluate(source, **names):
    expression = parse(source)
    assert expression.check(set(names) | {"context"}) == []
    return expression.evaluate(Scope(names, TODAY))


@pytest.mark.parametrize("source, expected", [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("10 / 4", decimal.Decimal("2.5")),
    ("7 % 3", 1),
    ("-2 + 5", 3),
    ("1.10 + 2.20", decimal.Decimal("3.30")),
    ("'ab' + \"cd\"", "abcd"),
    ("1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3", True),
    ("1 == 1.0 and 1 != 2", True),
    ("not true or false", False),
    ("'b' in ['a', 'b']", True),
    ("'x' not in 'abc'", True),
    ("'ell' in 'hello'", True),
    ("true == 1", False),
    ("null == null", True),
    ("len('abc') + len([1, 2])", 5),
    ("upper(trim('  ab ')) + lower('C')", "ABc"),
    ("starts_with('E-4711', 'E-')", True),
    ("round(10 / 3, 2)", decimal.Decimal("3.33")),
    ("round(2.5)", 3),
    ("abs(-4) + min(3, 1, 2) + max([4, 9])", 14),
    ("coalesce(null, null, 'x')", "x"),
    ("choose('webchat', 'voice', 'phone', 'webchat', 'web', 'other')", "web"),
    ("choose('fax', 'voice', 'phone', 'webchat', 'web', 'other')", "other"),
    ("choose(2.0, 1, 'one', 2, 'two', 'many')", "two"),
    ("choose(null, 'voice', 'phone', null, 'none', 'other')", "none"),
    ("number('1,250.5') + 1", decimal.Decimal("1251.5")),
    ("text(12) + text(true)", "12yes"),
    ("today()", TODAY),
    ("add_days(today(), 30)", datetime.date(2026, 4, 1)),
    ("days_between(date('2026-03-01'), '2026-03-31')", 30),
    ("add_hours('2026-03-02T16:30:00', 8.5)", "2026-03-03T01:00:00"),
    ("year(today()) * 100 + month(today())", 202603),
    ("day(today()) + weekday(date('2026-03-02'))", 3),
])
def test_evaluates(source, expected):
    result = evaluate(source)
    assert result == expected and type(result) is type(expected)


def test_names_fields_and_short_circuit():
    customer = {"name": "Ann", "address": {"city": "Springfield"}, "balance": decimal.Decimal("12.50")}
    assert evaluate("customer.address.city", customer=customer) == "Springfield"
    assert evaluate("customer.missing", customer=customer) is None
    assert evaluate("customer.balance * 2", customer=customer) == decimal.Decimal("25.00")
    assert evaluate("x == null or x.y > 1", x=None) is True   # the right side is never evaluated


@pytest.mark.parametrize("source, message", [
    ("x.__class__", "private attribute '__class__'"),
    ("customer._version", "private attribute '_version'"),
    ("__import__('os')", "'__import__' is not a function"),
    ("eval('1')", "'eval' is not a function"),
    ("open('/etc/passwd')", "'open' is not a function"),
    ("nobody + 1", "unknown name 'nobody'"),
    ("round()", "round() takes 1 to 2 argument(s), not 0"),
    ("today(1)", "today() takes 0 argument(s), not 1"),
    ("choose(x, 1, 'one', 2, 'two')", "choose() takes an even number of 4 to 40 argument(s), not 5"),
    ("choose(x, 'otherwise')", "choose() takes an even number of 4 to 40 argument(s), not 2"),
])
def test_load_time_check_rejects(source, message):
    problems = parse(source).check({"x", "customer", "context"})
    assert problems and message in problems[0].message


@pytest.mark.parametrize("source, message", [
    ("import os", "unexpected 'os'"),
    ("2 ** 10 ** 10", "'**' (power) is not part of the expression language"),
    ("x[0]", "unexpected '['"),
    ("lambda: 1", "unexpected character ':'"),
    ("a = 1", "unexpected character '='"),
    ("1 +", "unexpected end of expression"),
    ("f(1,", "unexpected end of expression"),
    ("(1", "expected ')'"),
    ("'open", "unexpected character"),
    ("", "empty expression"),
    ("1 < 2 < 3", "unexpected '<'"),
])
def test_syntax_errors_have_columns(source, message):
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert message in caught.value.message
    assert caught.value.column >= 1


def test_size_and_nesting_are_bounded():
    with pytest.raises(ExpressionError, match="longer than"):
        parse("1 + " * 600 + "1")
    with pytest.raises(ExpressionError, match="nests deeper"):
        parse("(" * 50 + "1" + ")" * 50)
    with pytest.raises(ExpressionError, match="nests deeper"):
        parse("not " * 60 + "true")
    with pytest.raises(ExpressionError, match="too large"):
        parse(" + ".join(["1"] * 400))


def test_values_produced_are_bounded():
    with pytest.raises(ExpressionError, match="number is larger"):
        evaluate("x * x * x", x=10**6)
    with pytest.raises(ExpressionError, match="number is larger"):
        parse("9999999999999999999")
    big = "a" * (LIMITS.text // 2 + 1)
    with pytest.raises(ExpressionError, match="text is longer"):
        evaluate("s + s", s=big)


@pytest.mark.parametrize("source, names, message", [
    ("1 / 0", {}, "division by zero"),
    ("'a' < 1", {}, "cannot compare text with a number"),
    ("null > 1", {}, "cannot compare null with a number"),
    ("'a' - 'b'", {}, "'-' cannot combine text and text"),
    ("'a' * 3", {}, "'*' cannot combine text and a number"),
    ("-'a'", {}, "'-' needs a number"),
    ("x.y", {"x": 3}, "'.y' needs a record"),
    ("1 in 5", {}, "'in' needs a list or text"),
    ("date('not a date')", {}, "date() cannot take text"),
    ("upper(1)", {}, "expected text"),
    ("add_hours('tomorrow', 8)", {}, "add_hours() needs a date and time"),
    ("add_hours('2026-03-02T16:30:00', 999999999999)", {}, "add_hours() goes beyond the calendar"),
])
def test_evaluation_errors_are_expression_errors(source, names, message):
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, **names)
    assert message in caught.value.message


def test_paths_and_names():
    expression = parse("customer.address.city == 'x' and len(customer.name) > n")
    assert expression.names() == {"customer", "n"}
    assert sorted(p for p, _ in expression.paths()) == [["customer", "address", "city"], ["customer", "name"]]


def test_every_function_is_documented():
    assert all(spec.doc for spec in expressions.FUNCTIONS.values())


ALPHABET = "abcxy_01259.+-*/%<>=!()[],'\" \tnotandorintruefalsenulllentodaydate"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60) | st.text(max_size=30))
def test_any_input_parses_and_evaluates_or_fails_with_an_expression_error(source):
    try:
        expression = parse(source)
    except ExpressionError:
        return
    if expression.check({"a", "b", "x", "y"}):
        return
    try:
        expression.evaluate(Scope({"a": 1, "b": "text", "x": decimal.Decimal("2.5"), "y": [1, "a"]}, TODAY))
    except ExpressionError:
        pass
