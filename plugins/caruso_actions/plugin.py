"""The pluggy registration of the built-in script actions (entry point ``caruso.plugins``)."""
from __future__ import annotations

from typing import Any, Callable

from caruso_core import hookimpl
from caruso_actions.contact import log_contact
from caruso_actions.mail import send_email
from caruso_actions.objects import store_object
from caruso_actions.service_call import call_service


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_script_actions() -> dict[str, Callable[..., Any]]:
    return {"email": send_email, "store": store_object, "call": call_service, "contact": log_contact}
