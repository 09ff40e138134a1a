"""A simulated day written by ``caruso simulate --db`` (the communication server's own simulator)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCENARIO = ["--agents", "12", "--calls-per-hour", "150", "--aht", "240", "--hours", "8",
            "--patience", "90", "--wrap-up", "15", "--seed", "7"]


def caruso(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the ``caruso`` command in a child process; its output as text."""
    return subprocess.run([sys.executable, "-m", "caruso_core", *arguments], capture_output=True,
                          text=True, timeout=120, env=env or dict(os.environ))


@pytest.fixture(scope="session")
def simulated_day(tmp_path_factory) -> tuple[str, dict]:
    """The URL of the day's event log and the simulator's own figures."""
    url = f"sqlite:///{tmp_path_factory.mktemp('day') / 'comm.db'}"
    done = caruso("simulate", *SCENARIO, "--db", url, "--json")
    assert done.returncode == 0, done.stderr
    return url, json.loads(done.stdout)
