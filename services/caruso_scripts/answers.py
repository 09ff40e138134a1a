"""Turning what a person typed, said or pressed into the typed answer of a question.

Contract of :func:`accept`: returns the typed answer (str for choice and text, bool for
yesno, int or Decimal for number, Decimal with two places for amount, date for date,
None for a skipped optional question) or raises :class:`AnswerRejected` with a message
for the person answering; the question's min, max and validation rules are applied.
Numbers typed as text are read as the scope's ``numbers`` say (the script's locale),
and text that could be read more than one way is refused with why.
"""
from __future__ import annotations

import datetime
import decimal
import re
from typing import Any, Callable

from caruso_scripts.client import AnswerRejected, DialogError
from caruso_scripts.errors import ExpressionError
from caruso_scripts.expressions import LIMITS, Scope, as_text
from caruso_scripts.model import Question
from caruso_scripts.numbers import NumberFormat, Unclear

MAX_RAW = 4000
YES = {"yes", "y", "true", "1", "ja", "oui", "si"}
NO = {"no", "n", "false", "2", "0", "nein", "non"}
NUMBER = re.compile(r"-?\d{1,15}(\.\d{1,6})?")
AMOUNT = re.compile(r"-?\d{1,13}(\.\d{1,2})?")
CURRENCY = re.compile(r"[€$£¥]|[A-Z]{3}")     # a sign or an ISO 4217 code, before or after an amount
SIGNS = {"€": {"EUR"}, "£": {"GBP"}, "¥": {"JPY", "CNY"},
         "$": {"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"}}   # the codes each sign may stand for


def accept(question: Question, raw: Any, scope: Scope) -> Any:
    """The typed answer to ``question`` from ``raw``; see the module's contract."""
    if isinstance(raw, str):
        if len(raw) > MAX_RAW:
            raise AnswerRejected(f"The answer is too long (at most {question.maxlength} characters).")
        raw = raw.strip()
    if raw is None or raw == "":
        if question.required:
            raise AnswerRejected("Please answer this question.")
        return None
    value = PARSERS[question.type](question, raw, scope.numbers)
    _check_range(question, value, scope)
    if question.validations:
        rule_scope = scope.extended({question.id: value})
        for validation in question.validations:
            try:
                holds = validation.rule.evaluate(rule_scope)
            except ExpressionError as error:
                raise DialogError(f"line {validation.line}: validation rule failed: {error.message}") from None
            if not holds:
                raise AnswerRejected(validation.message)
    return value


def _choice(question: Question, raw: Any, numbers: NumberFormat) -> str:
    text = str(raw)
    for option in question.options:
        if text == option.value or text.casefold() == option.label.casefold():
            return option.value
    labels = ", ".join(option.label for option in question.options)
    raise AnswerRejected(f"Please choose one of: {labels}.")


def _yesno(question: Question, raw: Any, numbers: NumberFormat) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).casefold()
    if text in YES:
        return True
    if text in NO:
        return False
    raise AnswerRejected("Please answer yes or no.")


def _text(question: Question, raw: Any, numbers: NumberFormat) -> str:
    if not isinstance(raw, str):
        raise AnswerRejected("Please answer with text.")
    if len(raw) > question.maxlength:
        raise AnswerRejected(f"The answer is too long (at most {question.maxlength} characters).")
    return "".join(char for char in raw if char.isprintable() or char in "\n\t")


def _number(question: Question, raw: Any, numbers: NumberFormat) -> int | decimal.Decimal:
    return _numeric(raw, NUMBER, f"Please enter a number, e.g. 1250 or {numbers.show('12.5')}.", numbers)


def _amount(question: Question, raw: Any, numbers: NumberFormat) -> decimal.Decimal:
    if isinstance(raw, str):
        raw, written = _without_currency(raw.strip())
        if written is not None and question.currency is not None \
                and question.currency not in SIGNS.get(written, {written}):
            raise AnswerRejected(f"This amount is in {question.currency}: please enter it in {question.currency}.")
    value = _numeric(raw, AMOUNT, f"Please enter an amount with at most two decimals, e.g. {numbers.show('120.50')}.",
                     numbers)
    return decimal.Decimal(value).quantize(decimal.Decimal("0.01"))


def _without_currency(text: str) -> tuple[str, str | None]:
    """An amount without the currency written before or after it (``€12.50``, ``12,50 EUR``),
    and that currency (None: none written); sliced, not searched: a long answer costs no
    backtracking."""
    for size in (1, 3):
        if len(text) > size and CURRENCY.fullmatch(text[:size]):
            return text[size:].lstrip(), text[:size]
    for size in (1, 3):
        if len(text) > size and CURRENCY.fullmatch(text[-size:]):
            return text[:-size].rstrip(), text[-size:]
    return text, None


def _numeric(raw: Any, pattern: re.Pattern[str], message: str, numbers: NumberFormat) -> int | decimal.Decimal:
    """A number typed as text (read as ``numbers`` says; an unclear one is refused with
    why) or given as a number (a float by its shortest decimal form)."""
    if type(raw) is int:
        text = str(raw)
    elif isinstance(raw, (float, decimal.Decimal)):
        text = format(decimal.Decimal(repr(raw)) if isinstance(raw, float) else raw, "f")
    elif isinstance(raw, str):
        try:
            text = numbers.canonical(raw)
        except Unclear as error:
            raise AnswerRejected(str(error)) from None
        except ValueError:
            raise AnswerRejected(message) from None
    else:
        raise AnswerRejected(message)
    if not pattern.fullmatch(text):
        raise AnswerRejected(message)
    value = decimal.Decimal(text)
    if abs(value) > LIMITS.magnitude:
        raise AnswerRejected(message)
    return int(value) if "." not in text else value


def _date(question: Question, raw: Any, numbers: NumberFormat) -> datetime.date:
    if isinstance(raw, datetime.date):
        return raw
    text = str(raw)
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise AnswerRejected("Please enter a date as YYYY-MM-DD, e.g. 2026-05-01.") from None


def _check_range(question: Question, value: Any, scope: Scope) -> None:
    if question.minimum is None and question.maximum is None:
        return
    for bound, too_far, words in ((question.minimum, lambda v, b: v < b, "at least"),
                                  (question.maximum, lambda v, b: v > b, "at most")):
        if bound is None:
            continue
        try:
            limit = bound.evaluate(scope)
            outside = limit is not None and too_far(value, limit)
        except (ExpressionError, TypeError):
            raise DialogError(f"question '{question.id}' line {question.line}: "
                              f"its bound '{bound.source}' cannot be compared with the answer") from None
        if outside:
            raise AnswerRejected(f"Please enter a value of {words} {as_text(limit, scope.numbers)}.")


PARSERS: dict[str, Callable[[Question, Any, NumberFormat], Any]] = {
    "choice": _choice, "yesno": _yesno, "text": _text,
    "number": _number, "amount": _amount, "date": _date,
}
