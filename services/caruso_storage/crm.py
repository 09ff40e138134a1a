"""The generic CRM model modules of caruso (plugin of the ``caruso_model_modules`` hook).

Each file in ``modules/`` is a module a model includes with ``<include module="NAME"/>``:
``leads``, ``sales``, ``activities``, ``consent``, ``knowledge``. A module relies on the
including model for two objects: ``Customer`` (integer key ``id``) and ``Task``
(``subject``, ``assignee``, ``customer_id``, ``due``); the model's loading checks that.
"""
from __future__ import annotations

from pathlib import Path

from caruso_core import hookimpl

FOLDER = Path(__file__).parent / "modules"


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_model_modules() -> dict[str, str]:
    return {path.stem: str(path) for path in sorted(FOLDER.glob("*.xml"))}
