"""The standard rule actions (plugin of the ``caruso_rule_actions`` hook), each a
:class:`~caruso_storage.rules.RuleAction`.

``create``  ``<action use="create" object="Task"><set field="subject">Review ${name}</set></action>``
            creates an object in the same transaction, its values rendered from templates.
``call_after_commit``
            ``<action use="call_after_commit" interface="caruso.comm/1" method="send"><set field="to">...</set></action>``
            calls a service method with the sets as keyword arguments after the change is
            committed, on the storage instance's rule-call thread (in commit order; the caller
            does not wait for it, a failure is logged). ``call`` is its earlier name.
``notify``  ``<action use="notify" to="sales-managers"><set field="message">...</set></action>``
            writes the message to the rule log and the ``caruso.storage.rules`` logger.
``set``     ``<action use="set"><set field="rating">hot</set></action>`` changes the object itself,
            or with ``object="Opportunity" key="${opportunity_id}"`` another one, in the same
            transaction (the changed object's rules run too).
"""
from __future__ import annotations

import logging
from typing import Mapping

from caruso_core import hookimpl

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


class CallAfterCommit(RuleAction):
    def run(self, context: RuleContext, step: Action) -> str:
        interface, method = step.params["interface"], step.params["method"]
        arguments = {field: encode(context.render(template)) for field, template in step.values.items()}
        context.call_after_commit(interface, method, arguments)
        return f"call {interface}.{method}({', '.join(sorted(arguments))})"

    def check(self, step: Action, obj: ObjectType, objects: Mapping[str, ObjectType]) -> None:
        if not step.params.get("interface") or not step.params.get("method"):
            raise ValueError("needs interface=\"id/MAJOR\" and method=\"NAME\"")


class Notify(RuleAction):
    def run(self, context: RuleContext, step: Action) -> str:
        message = str(context.render(step.values.get("message", f"rule {context.rule.name} fired")))
        recipient = step.params.get("to", "")
        context.after_commit(lambda: log.info("notify %s: %s", recipient, message))
        return f"notify {recipient}: {message}"


class Set(RuleAction):
    def run(self, context: RuleContext, step: Action) -> str:
        data = {field: context.render(template) for field, template in step.values.items()}
        target = step.params.get("object", context.obj.name)
        key = context.render(step.params["key"]) if "key" in step.params else context.key
        context.update(target, key, data)
        return f"set {target} {encode(key)}: {', '.join(sorted(data))}"

    def check(self, step: Action, obj: ObjectType, objects: Mapping[str, ObjectType]) -> None:
        if ("object" in step.params) != ("key" in step.params):
            raise ValueError("object=\"...\" and key=\"${...}\" go together (without both: the object itself)")
        if not step.values:
            raise ValueError("needs at least one <set field=\"...\">")
        _check_fields(step, objects.get(step.params.get("object", obj.name)), objects)


def _check_fields(step: Action, target: ObjectType | None, objects: Mapping[str, ObjectType]) -> None:
    if target is None:
        raise ValueError(f"object=\"...\" must name an object of the model (objects: {', '.join(objects)})")
    unknown = set(step.values) - set(target.attributes)
    if unknown:
        raise ValueError(f"{target.name} has no attribute(s) {', '.join(sorted(unknown))}")


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_rule_actions() -> dict[str, RuleAction]:
    call = CallAfterCommit()
    return {"create": Create(), "call_after_commit": call, "call": call, "notify": Notify(), "set": Set()}
