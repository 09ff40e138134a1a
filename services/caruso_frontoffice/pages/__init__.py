"""The pages of the front office, one module per area; :func:`routes` lists them all."""
from __future__ import annotations

from starlette.routing import BaseRoute

from caruso_frontoffice.pages import admin, auth, desk, deskstream, phone, portal, records, supervisor


def routes() -> list[BaseRoute]:
    return [*auth.routes, *admin.routes, *records.routes, *portal.routes, *supervisor.routes, *desk.routes,
            *deskstream.routes, *phone.routes]
