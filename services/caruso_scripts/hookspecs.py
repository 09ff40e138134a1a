"""The script engine's extension point: dialog actions that transitions run.

Each hook returns a mapping from a name to what is provided; see
:mod:`caruso_core.hookspecs` for how mappings of several plugins are merged.
"""
from __future__ import annotations

from caruso_core.hookspecs import hookspec
from caruso_scripts.actions import DialogAction


@hookspec
def caruso_script_actions() -> dict[str, DialogAction]:
    """Dialog actions by the name scripts use; the contract is :mod:`caruso_scripts.actions`."""
