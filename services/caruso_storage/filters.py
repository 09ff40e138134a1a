"""Structured filters: checked against an object, run as SQL or evaluated in Python.

A filter is plain data (never SQL text)::

    {"field": "city", "op": "eq", "value": "Berlin"}
    {"and": [filter, ...]}   {"or": [filter, ...]}   {"not": filter}

:func:`parse` checks fields, operators and values against the object and returns a
:class:`~caruso_storage.model.Condition`; :func:`to_sql` makes a SQLAlchemy
expression of it over the object's :mod:`~caruso_storage.fields` (values as bound
parameters only, compared through the attributes' conversions); :func:`matches` evaluates it on
a record's values, which business rules use together with the rule-only operators
``changed``, ``changed_to`` and ``changed_from`` (the value differs from the old one, and
the new one, or the old one, equals ``value``) and with fields along many-to-one relations (``contract.cancelled``, given
the model's objects; the rule supplies their values under the dotted name). A rule's
comparison may compare with another attribute of the object instead of a value,
``{"field": "installation.customer_id", "op": "ne", "value_field": "customer_id"}``; it
holds only when both have a value.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from sqlalchemy import and_, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from caruso_core.errors import InvalidInput

from caruso_storage import values
from caruso_storage.folding import digits, fold
from caruso_storage.model import Attribute, Condition, ObjectType, comparable

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
TEXT_OPERATORS = ("contains", "startswith", "like")
DIGITS = "digits"           # a phone number however written: see :func:`number_digits`
OPERATORS = (*COMPARISONS, "in", *TEXT_OPERATORS, DIGITS, "is_null")
RULE_OPERATORS = ("changed", "changed_to", "changed_from")
TEXT_TYPES = ("string", "text")
MAX_DEPTH = 16
MAX_NODES = 500
MAX_IN_VALUES = 1000
SIGNIFICANT_DIGITS = 9      # a number's last nine digits: without its country code or trunk prefix
LEAST_DIGITS = 4


def parse(obj: ObjectType, data: Any, *, rule: bool = False,
          objects: Mapping[str, ObjectType] | None = None) -> Condition | None:
    """The checked condition of a filter given as plain data (None: no filter). With the
    model's ``objects``, a field may be a path along many-to-one relations (see :func:`path`)."""
    if data is None:
        return None
    budget = [MAX_NODES]
    return _parse(obj, data, rule, 0, budget, objects)


def path(obj: ObjectType, field: str, objects: Mapping[str, ObjectType]) -> tuple[tuple[str, ...], Attribute]:
    """The many-to-one relations a dotted ``field`` (``contract.holder.active``) follows from
    ``obj``, and the attribute it ends at; InvalidInput naming the part that is neither."""
    *relations, name = field.split(".")
    current = obj
    for relation_name in relations:
        relation = current.relations.get(relation_name)
        if relation is None or relation.kind != "many-to-one":
            known = ", ".join(n for n, r in current.relations.items() if r.kind == "many-to-one") or "none"
            raise InvalidInput(f"filter: {field}: {current.name} has no many-to-one relation {relation_name!r} "
                               f"(many-to-one relations: {known})")
        current = objects[relation.target]
    if name not in current.attributes:
        raise InvalidInput(f"filter: {field}: {current.name} has no field {name!r} "
                           f"(fields: {', '.join(current.attributes)})")
    return tuple(relations), current.attributes[name]


def paths(condition: Condition | None) -> set[str]:
    """The dotted fields ``condition`` compares (values of related objects)."""
    if condition is None:
        return set()
    if condition.kind == "compare":
        return {condition.field} if "." in (condition.field or "") else set()
    return set().union(*(paths(item) for item in condition.items))


def comparison(obj: ObjectType, field: Any, op: Any, value: Any, *, rule: bool = False,
               objects: Mapping[str, ObjectType] | None = None, value_field: Any = None) -> Condition:
    """A checked comparison of ``field`` with ``value`` (value decoded to the attribute's type),
    or in a rule with the attribute ``value_field`` of the object (:func:`_with_field`)."""
    allowed = OPERATORS + RULE_OPERATORS if rule else OPERATORS
    if objects is not None and isinstance(field, str) and "." in field:
        attribute = path(obj, field, objects)[1]
        if op in RULE_OPERATORS:
            raise InvalidInput(f"filter: {op} compares with the object's values before the change: "
                               f"{field} is a related object's")
    elif not isinstance(field, str) or field not in obj.attributes:
        known = ", ".join(obj.attributes)
        raise InvalidInput(f"filter: {obj.name} has no field {field!r} (fields: {known})")
    else:
        attribute = obj.attributes[field]
    if op not in allowed:
        raise InvalidInput(f"filter: unknown operator {op!r} for {field} (operators: {', '.join(allowed)})")
    if (op in TEXT_OPERATORS or op == DIGITS) and attribute.type not in TEXT_TYPES:
        raise InvalidInput(f"filter: operator {op} needs a text field; {field} is {attribute.type}")
    if value_field is not None:
        return _with_field(obj, field, attribute, op, value_field, rule)
    if op == "in":
        if not isinstance(value, (list, tuple)) or len(value) > MAX_IN_VALUES:
            raise InvalidInput(f"filter: 'in' on {field} needs a list of at most {MAX_IN_VALUES} values")
        value = tuple(values.decode(attribute, item, strict=False) for item in value)
    elif op == "is_null":
        if not isinstance(value, bool):
            raise InvalidInput(f"filter: 'is_null' on {field} needs true or false")
    elif op == "changed":
        value = None
    elif op in TEXT_OPERATORS:
        if not isinstance(value, str):
            raise InvalidInput(f"filter: {op} on {field} needs a text value")
    elif op == DIGITS:
        value = number_digits(value)
        if value is None:
            raise InvalidInput(f"filter: {DIGITS} on {field} needs a text value with at least {LEAST_DIGITS} digits")
    else:
        value = values.decode(attribute, value, strict=False)
    return Condition("compare", field, op, value)


def _with_field(obj: ObjectType, field: str, attribute: Attribute, op: str, value_field: Any,
                rule: bool) -> Condition:
    """A rule's comparison of ``field`` with the object's attribute ``value_field``, of its type
    (any number with a number)."""
    if not rule:
        raise InvalidInput(f"filter: value_field compares two fields in a rule's condition only ({field})")
    if op not in COMPARISONS:
        raise InvalidInput(f"filter: value_field takes one of {', '.join(COMPARISONS)}, not {op!r} ({field})")
    other = obj.attributes.get(value_field) if isinstance(value_field, str) else None
    if other is None:
        raise InvalidInput(f"filter: value_field {value_field!r} of {field}: {obj.name} has no such attribute "
                           f"(attributes: {', '.join(obj.attributes)})")
    if not comparable(other.type, attribute.type):
        raise InvalidInput(f"filter: {field} is {attribute.type}; value_field {value_field} is {other.type}")
    if op in ("eq", "ne") and {attribute.type, other.type} == {"decimal", "float"}:
        raise InvalidInput(f"filter: {field} and {value_field} are a decimal and a float: a float is not exact, "
                           "so eq and ne cannot compare them (lt, le, gt and ge can)")
    return Condition("compare", field, op, value_field=value_field)


def _parse(obj: ObjectType, data: Any, rule: bool, depth: int, budget: list[int],
           objects: Mapping[str, ObjectType] | None) -> Condition:
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise InvalidInput(f"filter: nested deeper than {MAX_DEPTH} or larger than {MAX_NODES} parts")
    if not isinstance(data, dict):
        raise InvalidInput(f"filter: expected a dict, got {type(data).__name__}")
    if "field" in data:
        unknown = set(data) - {"field", "op", "value", "value_field"}
        if unknown:
            raise InvalidInput(f"filter: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        return comparison(obj, data["field"], data.get("op", "eq"), data.get("value"), rule=rule, objects=objects,
                          value_field=data.get("value_field"))
    if len(data) != 1:
        raise InvalidInput("filter: a dict needs 'field' or exactly one of 'and', 'or', 'not'")
    (kind, inner), = data.items()
    if kind == "not":
        return Condition("not", items=(_parse(obj, inner, rule, depth + 1, budget, objects),))
    if kind in ("and", "or"):
        if not isinstance(inner, list) or not inner:
            raise InvalidInput(f"filter: '{kind}' needs a non-empty list of filters")
        return Condition(kind, items=tuple(_parse(obj, item, rule, depth + 1, budget, objects) for item in inner))
    raise InvalidInput(f"filter: unknown key {kind!r} (expected field, and, or, not)")


def to_sql(condition: Condition | None, fields: Mapping[str, Any]) -> ColumnElement[bool]:
    """A SQL expression of ``condition`` over ``fields`` (attribute name → :class:`~caruso_storage.fields.Field`)."""
    if condition is None:
        return true()
    if condition.kind == "and":
        return and_(*(to_sql(item, fields) for item in condition.items))
    if condition.kind == "or":
        return or_(*(to_sql(item, fields) for item in condition.items))
    if condition.kind == "not":
        return not_(to_sql(condition.items[0], fields))
    return fields[condition.field].compare(condition.op, condition.value)


def number_digits(value: Any) -> str | None:
    """What the operator ``digits`` looks for of a number as given: its last
    ``SIGNIFICANT_DIGITS`` digits (all when it has fewer), so that a number written with its
    country code (``+31 20 555 0101``), with the trunk prefix (``020 555 0101``) or without
    either (``555 0101``) finds it as stored; None for a value with fewer than ``LEAST_DIGITS``."""
    found = digits(value) if isinstance(value, str) else ""
    return found[-SIGNIFICANT_DIGITS:] if len(found) >= LEAST_DIGITS else None


def text_pattern(op: str, value: str) -> str:
    """The LIKE pattern of a text operator's value (``like`` takes it as it is)."""
    if op == "like":
        return value
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%" if op == "contains" else f"{escaped}%"


def matches(condition: Condition | None, new: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> bool:
    """Whether ``condition`` holds for the values ``new`` (``old``: values before, None on create)."""
    if condition is None:
        return True
    if condition.kind == "and":
        return all(matches(item, new, old) for item in condition.items)
    if condition.kind == "or":
        return any(matches(item, new, old) for item in condition.items)
    if condition.kind == "not":
        return not matches(condition.items[0], new, old)
    current, op, value = new.get(condition.field), condition.op, condition.value
    if condition.value_field is not None:
        value = new.get(condition.value_field)
        if current is None or value is None:
            return False
    before = None if old is None else old.get(condition.field)
    if op == "changed":
        return old is None or current != before
    if op == "changed_to":
        return current == value and (old is None or before != value)
    if op == "changed_from":
        return old is not None and before == value and current != value
    if op == "is_null":
        return (current is None) == value
    if op == "in":
        return current in value
    if op == "eq":
        return current == value
    if op == "ne":
        return current != value
    if current is None or value is None:
        return False
    if op == DIGITS:
        return value in digits(str(current))
    if op in TEXT_OPERATORS:
        return re.fullmatch(_regex(text_pattern(op, fold(value))), fold(str(current).rstrip(" ")), re.DOTALL) is not None
    return {"lt": current < value, "le": current <= value, "gt": current > value, "ge": current >= value}[op]


def _regex(pattern: str) -> str:
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append({"%": ".*", "_": "."}.get(char, re.escape(char)))
    return "".join(parts)
