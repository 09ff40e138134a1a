"""Provides the standard rule actions (:mod:`caruso_storage.actions`) through the
``caruso_rule_actions`` hook. Every process that loads the plugins imports this module, so
it imports what it provides inside the hook: the actions bring SQLAlchemy, a quarter of a
second of CPU at the start of a process that has no storage."""
from __future__ import annotations

from typing import Any

from caruso_core import hookimpl


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_rule_actions() -> dict[str, Any]:
    from caruso_storage.actions import standard
    return standard()
