"""The pluggy registration of the built-in dialog actions (entry point ``caruso.plugins``)."""
from __future__ import annotations

from caruso_core import hookimpl
from caruso_scripts.actions import DialogAction


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_script_actions() -> dict[str, DialogAction]:
    from caruso_actions.contact import log_contact
    from caruso_actions.mail import send_email
    from caruso_actions.objects import store_object
    from caruso_actions.service_call import call_service
    return {"email": send_email, "store": store_object, "call": call_service, "contact": log_contact}
