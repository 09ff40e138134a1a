"""A simulated day written by ``caruso simulate --db`` (the communication server's own simulator)."""
from __future__ import annotations

import json

import pytest

from reports_support import caruso

SCENARIO = ["--agents", "12", "--calls-per-hour", "150", "--aht", "240", "--hours", "8",
            "--patience", "90", "--wrap-up", "15", "--seed", "7"]


@pytest.fixture(scope="session")
def simulated_day(tmp_path_factory) -> tuple[str, dict]:
    """The URL of the day's event log and the simulator's own figures."""
    url = f"sqlite:///{tmp_path_factory.mktemp('day') / 'comm.db'}"
    done = caruso("simulate", *SCENARIO, "--db", url, "--json")
    assert done.returncode == 0, done.stderr
    return url, json.loads(done.stdout)
