"""Helpers of the reports' tests (imported by name: conftest modules of several test
folders would shadow each other)."""
from __future__ import annotations

from caruso_core.testing.commands import Ran, caruso as run_caruso


def caruso(*arguments: str, env: dict | None = None) -> Ran:
    """Run the ``caruso`` command in process, as the console script would."""
    return run_caruso(*arguments, env=env)
