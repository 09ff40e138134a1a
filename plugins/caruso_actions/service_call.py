"""Action ``call``: call a method of any service through the service manager (e.g. an ERP wrapper).

Parameters: ``service`` (a name or interface such as ``caruso.erp/1``), ``method``
(a public method name), every other parameter is a keyword argument of the call.
Returns the call's result.
"""
from __future__ import annotations

import re
from typing import Any

from caruso_core.errors import InvalidInput
from caruso_scripts.actions import ActionContext

METHOD = re.compile(r"[a-z][A-Za-z0-9_]{0,63}")


def call_service(context: ActionContext, service: str, method: str, **arguments: Any) -> Any:
    if not isinstance(method, str) or not METHOD.fullmatch(method):
        raise InvalidInput(f"call: {method!r} is not a public method name")
    return getattr(context.service(service), method)(**arguments)
