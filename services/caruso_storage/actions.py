"""The standard rule actions, each a :class:`~caruso_storage.rules.RuleAction`, provided by
:mod:`caruso_storage.plugin` through the ``caruso_rule_actions`` hook as any other plugin's.

``create``  ``<action use="create" object="Task"><set field="subject">Review ${name}</set></action>``
            creates an object in the same transaction, its values rendered from templates.
``call``    ``<action use="call" interface="caruso.erp/1" method="order_won_opportunity"
            result="erp_order_no=order_no"><set field="reference">...</set></action>``
            writes a call of a service method, the sets as keyword arguments, to the outbox in
            the same transaction; it is delivered after the change is committed, retried while
            it fails (:mod:`caruso_storage.delivery`), and ``result`` writes fields of what it
            returns onto the object. ``call_after_commit`` is another name of it.
``notify``  ``<action use="notify" to="sales-managers"><set field="message">...</set></action>``
            writes the message to the rule log and the ``caruso.storage.rules`` logger.
``reject``  ``<action use="reject"><set field="message">Contract ${contract} is cancelled</set></action>``
            refuses the change: the write fails with InvalidInput carrying the rendered message,
            and nothing of it (or of its batch) is written; ``field="ATTRIBUTE"`` names the
            attribute it refuses (the error's ``field``, with the message alone as ``refusal``:
            a form shows it beside that field).
``set``     ``<action use="set"><set field="rating">hot</set></action>`` changes the object itself,
            or with ``object="Opportunity" key="${opportunity_id}"`` another one, in the same
            transaction (the changed object's rules run too); the key of an object with a
            composite key names each part, ``key="contract=${contract} position=${position}"``.
"""
from __future__ import annotations

import logging
from typing import Mapping

from caruso_core.errors import InvalidInput

from caruso_storage import outbox
from caruso_storage.model import Action, ObjectType
from caruso_storage.rules import RuleAction, RuleContext
from caruso_storage.values import encode

log = logging.getLogger("caruso.storage.rules")


class Create(RuleAction):
    def run(self, context: RuleContext, step: Action) -> str:
        data = {field: context.render(template) for field, template in step.values.items()}
        created = context.create(step.params["object"], data)
        return f"created {step.params['object']} {created}"

    def check(self, step: Action, obj: ObjectType, objects: Mapping[str, ObjectType]) -> None:
        _check_fields(step, objects.get(step.params.get("object", "")), objects)


class Call(RuleAction):
    def run(self, context: RuleContext, step: Action) -> str:
        interface, method = step.params["interface"], step.params["method"]
        arguments = {field: encode(context.render(template)) for field, template in step.values.items()}
        row = context.call(interface, method, arguments, step.params.get("result"))
        return f"call {interface}.{method}({', '.join(sorted(arguments))}): outbox row {row}"

    def check(self, step: Action, obj: ObjectType, objects: Mapping[str, ObjectType]) -> None:
        if not step.params.get("interface") or not step.params.get("method"):
            raise ValueError("needs interface=\"id/MAJOR\" and method=\"NAME\"")
        if "result" in step.params:
            for attribute in outbox.pairs(step.params["result"]):
                if attribute not in obj.attributes:
                    raise ValueError(f"result=\"...\": {obj.name} has no attribute {attribute!r}")
                if attribute in obj.key or obj.attributes[attribute].generated:
                    raise ValueError(f"result=\"...\": {obj.name}.{attribute} is a key or generated, "
                                     "not written back")


class Notify(RuleAction):
    def run(self, context: RuleContext, step: Action) -> str:
        message = str(context.render(step.values.get("message", f"rule {context.rule.name} fired")))
        recipient = step.params.get("to", "")
        context.after_commit(lambda: log.info("notify %s: %s", recipient, message))
        return f"notify {recipient}: {message}"


class Reject(RuleAction):
    def run(self, context: RuleContext, step: Action) -> str:
        message = str(context.render(step.values["message"]))
        named = {"field": step.params["field"], "refusal": message} if "field" in step.params else {}
        raise InvalidInput(message, rule=context.rule.name, **named)

    def check(self, step: Action, obj: ObjectType, objects: Mapping[str, ObjectType]) -> None:
        if set(step.values) != {"message"} or not step.values["message"].strip():
            raise ValueError("needs one <set field=\"message\">, the refusal the writer gets")
        if set(step.params) - {"field"}:
            raise ValueError(f"takes only field=\"ATTRIBUTE\", not {', '.join(sorted(set(step.params) - {'field'}))}")
        if "field" in step.params and step.params["field"] not in obj.attributes:
            raise ValueError(f"field={step.params['field']!r}: {obj.name} has no such attribute")


class Set(RuleAction):
    def run(self, context: RuleContext, step: Action) -> str:
        data = {field: context.render(template) for field, template in step.values.items()}
        target = step.params.get("object", context.obj.name)
        key = context.key
        if "key" in step.params:
            parts = _key_parts(step.params["key"])
            key = context.render(parts[""]) if "" in parts else \
                {name: context.render(template) for name, template in parts.items()}
        context.update(target, key, data)
        return f"set {target} {encode(key) if not isinstance(key, dict) else _shown(key)}: {', '.join(sorted(data))}"

    def check(self, step: Action, obj: ObjectType, objects: Mapping[str, ObjectType]) -> None:
        if ("object" in step.params) != ("key" in step.params):
            raise ValueError("object=\"...\" and key=\"${...}\" go together (without both: the object itself)")
        if not step.values:
            raise ValueError("needs at least one <set field=\"...\">")
        target = objects.get(step.params.get("object", obj.name))
        _check_fields(step, target, objects)
        if "key" in step.params and target is not None:
            named = set(_key_parts(step.params["key"]))
            if (len(target.key) > 1 or named != {""}) and named != set(target.key):
                raise ValueError(f"key=\"...\" of {target.name} names its parts: "
                                 + " ".join(f"{part}=${{...}}" for part in target.key))


def _key_parts(text: str) -> dict[str, str]:
    """The templates of a ``key`` parameter: ``{"": template}`` for a single key, by part name
    for ``name=template name=template`` (templates without blanks)."""
    if "=" not in text:
        return {"": text}
    return dict(part.partition("=")[::2] for part in text.split())


def _shown(key: dict[str, object]) -> str:
    return ", ".join(f"{name}={encode(value)}" for name, value in key.items())


def _check_fields(step: Action, target: ObjectType | None, objects: Mapping[str, ObjectType]) -> None:
    if target is None:
        raise ValueError(f"object=\"...\" must name an object of the model (objects: {', '.join(objects)})")
    unknown = set(step.values) - set(target.attributes)
    if unknown:
        raise ValueError(f"{target.name} has no attribute(s) {', '.join(sorted(unknown))}")


def standard() -> dict[str, RuleAction]:
    """The standard rule actions by name."""
    call = Call()
    return {"create": Create(), "call_after_commit": call, "call": call, "notify": Notify(), "reject": Reject(),
            "set": Set()}
