"""Helpers of the reports' tests (imported by name: conftest modules of several test
folders would shadow each other)."""
from __future__ import annotations

import os
import subprocess
import sys

def caruso(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the ``caruso`` command in a child process; its output as text."""
    return subprocess.run([sys.executable, "-m", "caruso_core", *arguments], capture_output=True,
                          text=True, timeout=120, env=env or dict(os.environ))
