"""Fixtures shared by the tests of every component."""
from __future__ import annotations

import json
import math
import os
from typing import Iterator

import pytest


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Umask 0o002 during the test (and for the processes it starts): without their own
    care, files would be made 0664 and folders 0775."""
    previous = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(previous)


# -- the order of test files: the slowest first ------------------------------------------------
#
# ``--dist loadfile`` hands each worker whole files; a slow file started last is the suite's
# tail. Files are handed out in collection order (``scripts/test.sh`` passes
# ``--no-loadscope-reorder``), so the collection puts them in the order of their run time
# recorded in DURATIONS, files it does not know (new ones) before them. Refresh it with
# ``scripts/test.sh --record-durations``.

DURATIONS = os.path.join(os.path.dirname(__file__), "durations.json")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--record-durations", action="store_true",
                     help=f"write each test file's run time (setup, call, teardown) to {DURATIONS}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        with open(DURATIONS, encoding="utf-8") as recorded:
            seconds = json.load(recorded)
    except FileNotFoundError:
        return
    items.sort(key=lambda item: -seconds.get(item.nodeid.split("::", 1)[0], math.inf))   # stable


class DurationRecorder:
    """Sums the run time of each file's test reports; writes them, slowest first, at the end."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path = report.nodeid.split("::", 1)[0]
        self.seconds[path] = self.seconds.get(path, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        ordered = dict(sorted(((path, round(total, 1)) for path, total in self.seconds.items()),
                              key=lambda entry: -entry[1]))
        with open(DURATIONS, "w", encoding="utf-8") as written:
            json.dump(ordered, written, indent=0)
            written.write("\n")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--record-durations") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(DurationRecorder(), "caruso-durations")
