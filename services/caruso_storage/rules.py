"""Business rules: on create or update of an object, when a condition holds, run actions.

Conditions are filters (:mod:`caruso_storage.filters`) evaluated in Python on the
object's new values, with ``changed``/``changed_to``/``changed_from`` comparing against the old
ones, and on the values of objects reached along many-to-one relations
(``contract.cancelled``), as the change sees them. Actions come from the ``caruso_rule_actions`` hook, which maps the names models
use (``<action use="NAME">``) to :class:`RuleAction` objects: the contract of rule
actions. They run inside the transaction of the change: an action that fails undoes
the change. (Dialog scripts have actions of their own, with another contract:
``caruso_scripts.actions``.)
"""
from __future__ import annotations

import abc
import datetime as dt
import re
from typing import Any, Callable, Mapping

import attrs

from caruso_core import plugins, zones
from caruso_core.errors import CarusoError, ConfigError
from caruso_core.zones import UTC

from caruso_storage import filters, values
from caruso_storage.database import Transaction
from caruso_storage.model import Action, ObjectType, Rule

# ${name}, ${name+3}, or ${relation.name} along many-to-one relations (as a rule's <test field>)
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,3})(?:([+-])([0-9]{1,4}))?\}")
MAX_DEPTH = 4


@attrs.frozen
class RuleContext:
    """What a rule action sees: the object, its values, and ways to act within the change.

    ``create(object, values)`` creates an object in the same transaction and returns
    its key; ``update(object, key, values)`` changes one (their own rules run too);
    ``after_commit(callback)`` defers work (notifications) until the change is committed;
    ``call`` writes a call of another service to the outbox in the same transaction
    (``post``), delivered once the change is committed (:mod:`caruso_storage.delivery`);
    ``related(field)`` reads the value at a dotted field along many-to-one relations within it;
    ``zone`` is the business's time zone, in which ``${today}`` is a day.
    """

    obj: ObjectType
    rule: Rule
    key: Any
    values: dict[str, Any]
    old: dict[str, Any] | None
    transaction: Transaction
    create: Callable[[str, dict[str, Any]], Any]
    update: Callable[[str, Any, dict[str, Any]], Any]
    post: Callable[[str, str, str, dict[str, Any], str | None], int]
    related: Callable[[str], Any] = lambda field: None
    zone: dt.tzinfo = UTC

    def render(self, template: str) -> Any:
        """``template`` with ``${attribute}`` replaced by the object's values.

        ``${today}`` is the current date in the business's time zone, ``${now}`` the
        current moment in UTC (as datetimes are stored); ``${today+3}``
        is three days on, and ``${received+56}`` 56 days after a date attribute's value (none
        without one); ``${installation.serial_no}`` is a value along many-to-one relations
        (empty where a reference is empty or names nothing). A template that is one
        placeholder keeps the value's type.
        """
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            return self._value(whole)
        return PLACEHOLDER.sub(lambda match: _text(self._value(match)), template)

    def _value(self, match: re.Match[str]) -> Any:
        name, sign, days = match.groups()
        shift = dt.timedelta(days=int(days or 0) * (-1 if sign == "-" else 1))
        if name == "today":
            return zones.today(self.zone) + shift
        if name == "now":
            return values.now() + shift
        if "." in name:
            value = self.related(name)
        elif name in self.values:
            value = self.values[name]
        else:
            raise ConfigError(f"rule {self.rule.name}: {self.obj.name} has no attribute {name!r}")
        if days is None or value is None:
            return value
        if not isinstance(value, dt.date):
            raise ConfigError(f"rule {self.rule.name}: {match.group(0)}: {self.obj.name}.{name} is no date")
        return value + shift

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.transaction.after_commit(callback)

    def call(self, interface: str, method: str, arguments: dict[str, Any], result: str | None = None) -> int:
        """Write the call ``method(**arguments)`` of the service found for ``interface`` to
        the outbox, sent once the change is committed and retried until it succeeds; ``result``
        (``attribute=field ...``) writes fields of its result onto this object. Returns the
        outbox row's id."""
        return self.post(self.rule.name, interface, method, arguments, result)


class RuleAction(abc.ABC):
    """The contract of rule actions, the values of the ``caruso_rule_actions`` hook.

    ``check`` runs when the model loads, once per ``<action>`` naming the action;
    ``run`` runs each time its rule fires, inside the transaction of the change.
    """

    def check(self, step: Action, obj: ObjectType, objects: Mapping[str, ObjectType]) -> None:
        """Raise ValueError (one line) if ``step`` of a rule of ``obj`` cannot run; this
        default accepts every step."""

    @abc.abstractmethod
    def run(self, context: RuleContext, step: Action) -> str:
        """Act on ``step`` (its ``params`` and the templates of its ``values``, rendered with
        ``context.render``) and return a line for the rule log; a CarusoError undoes the change."""


def _text(value: Any) -> str:
    """A value within a template's text: none as nothing, 0 and false as themselves."""
    return "" if value is None else str(values.encode(value))


def holds(rule: Rule, new: dict[str, Any], old: dict[str, Any] | None, related: Callable[[str], Any],
          seen: dict[str, Any] | None = None) -> bool:
    """Whether the condition of ``rule`` holds for ``new`` (``old``: the values before);
    ``related(field)`` gives the values along relations, kept in ``seen`` for other rules."""
    seen = {} if seen is None else seen
    for field in filters.paths(rule.condition) - set(seen):
        seen[field] = related(field)
    return filters.matches(rule.condition, {**new, **seen} if seen else new, old)


def fire(obj: ObjectType, event: str, key: Any, new: dict[str, Any], old: dict[str, Any] | None,
         transaction: Transaction, create: Callable[[str, dict[str, Any]], Any],
         update: Callable[[str, Any, dict[str, Any]], Any],
         post: Callable[[str, str, str, dict[str, Any], str | None], int],
         log: Callable[[Rule, str, str], None], only: Rule | None = None,
         related: Callable[[str], Any] = lambda field: None, zone: dt.tzinfo = UTC) -> None:
    """Run the actions of every rule of ``obj`` (or of ``only``) for ``event`` whose condition
    holds; ``related(field)`` is the value at a path along many-to-one relations from the new
    values (``contract.cancelled``), read within the change; ``${today}`` is a day in ``zone``."""
    seen: dict[str, Any] = {}
    rules = [rule for rule in (obj.rules if only is None else (only,))
             if event in rule.events and holds(rule, new, old, related, seen)]
    if not rules:
        return
    actions: dict[str, RuleAction] = plugins.provided("caruso_rule_actions")
    for rule in rules:
        context = RuleContext(obj, rule, key, new, old, transaction, create, update, post, related, zone)
        for step in rule.actions:
            implementation = actions.get(step.use)
            if implementation is None:
                raise ConfigError(f"rule {rule.name}: action {step.use!r} is no longer installed")
            try:
                message = implementation.run(context, step)
            except CarusoError as error:
                raise type(error)(f"rule {rule.name} of {obj.name}, action {step.use}: {error.message}",
                                  **error.details) from None
            log(rule, step.use, str(message or ""))
