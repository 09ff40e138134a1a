"""The communication server's in-process extensions: its model module ``comm`` (queues,
agents and interactions as business objects; a storage model includes it with
``<include module="comm"/>``)."""
from __future__ import annotations

from pathlib import Path

from caruso_core import hookimpl

MODULE = Path(__file__).with_name("model_module.xml")


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_model_modules() -> dict[str, str]:
    return {"comm": str(MODULE)}
