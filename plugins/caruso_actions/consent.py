"""Customers' opt-outs per channel, which every action that reaches a customer honours.

The customer is the dialog context's ``customer``: a record (its key attribute, ``id``
unless the setting says otherwise) or a key. Engine setting ``consent`` names where the
storage service holds the opt-outs; the default is the ``consent`` model module's
``{object = "Consent", customer = "customer_id", channel = "channel", opted_in =
"opted_in", key = "id"}``. A context without a customer, or a model without that object,
has no opt-outs; a storage service that cannot be asked fails the action (the dialog
stays at its step and the answer can be retried), so nothing is sent against an opt-out.
"""
from __future__ import annotations

from typing import Any

from caruso_core.errors import ConfigError, NotFound
from caruso_scripts.actions import ActionContext

STORAGE = "caruso.storage/1"
DEFAULTS = {"object": "Consent", "customer": "customer_id", "channel": "channel", "opted_in": "opted_in", "key": "id"}


def opted_out(context: ActionContext, channel: str) -> bool:
    """Whether the dialog's customer opted out of ``channel``."""
    configured = context.settings.get("consent") or {}
    if not isinstance(configured, dict) or set(configured) - set(DEFAULTS):
        raise ConfigError(f"the setting consent is a table with some of {', '.join(DEFAULTS)}")
    names = {**DEFAULTS, **configured}
    customer = context.context.get("customer")
    key = customer.get(names["key"]) if isinstance(customer, dict) else customer
    if key is None:
        return False
    condition = {"and": [{"field": names["customer"], "op": "eq", "value": key},
                         {"field": names["channel"], "op": "eq", "value": channel},
                         {"field": names["opted_in"], "op": "eq", "value": False}]}
    try:
        return bool(context.service(STORAGE).query(names["object"], condition, None, 1))
    except NotFound:            # the model keeps no consent
        return False
