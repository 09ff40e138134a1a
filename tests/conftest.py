"""Fixtures shared by the tests of every component."""
from __future__ import annotations

import gc
import json
import math
import os
from typing import Any, Iterator

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
    parser.addoption("--cpu-report", action="store_true",
                     help="print the CPU time each test file took, with the processes it started (Chromium, "
                          "servers); the suite is CPU-bound, so this, not the run time, says what to make cheaper")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        with open(DURATIONS, encoding="utf-8") as recorded:
            seconds = json.load(recorded)
    except FileNotFoundError:
        return
    items.sort(key=lambda item: -seconds.get(item.nodeid.split("::", 1)[0], math.inf))   # stable


# -- garbage collection: after collection a worker holds some 240,000 objects that live as long
# as it does (modules, classes, the tests' plans); with CPython's default thresholds the
# collector went through them again and again, about a tenth of a worker's CPU. They are frozen
# out of collections, and young objects are collected some thirty times less often.

def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


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


# -- CPU time per test file -----------------------------------------------------------------
#
# Measured where the test runs (a worker), as the CPU time of its process and of all processes
# below it, living or ended (children that ended count once their parent reaped them):
# threads of hosted services, ``caruso serve`` children, Chromium and its driver, database
# servers. What runs beside a test in the same process (a host a test before it left behind)
# is counted to it.

def process_tree_cpu() -> float:
    """CPU seconds of this process and of every process below it."""
    parents: dict[int, int] = {}
    spent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:                    # ended meanwhile
            continue
        parents[int(entry)] = int(fields[1])
        spent[int(entry)] = sum(int(ticks) for ticks in fields[11:15])     # utime stime cutime cstime
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, below = 0, [os.getpid()]
    while below:
        pid = below.pop()
        total += spent.get(pid, 0)
        below.extend(children.get(pid, ()))
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """In the process running the tests: each test's CPU time, from before its set-up to its
    teardown, goes with its teardown report as the user property ``cpu``."""

    def __init__(self) -> None:
        self.started = 0.0

    def pytest_runtest_logstart(self) -> None:
        self.started = process_tree_cpu()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> None:
        if call.when == "teardown":
            item.user_properties.append(("cpu", process_tree_cpu() - self.started))


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (``/proc/stat``: every process, the kernel's too)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")    # all but idle and iowait


class CpuReport:
    """Sums the ``cpu`` of the teardown reports by file; prints the costliest at the end, after
    what the whole machine spent meanwhile: servers that daemonize (PostgreSQL, MariaDB) and
    processes Chromium reparents are reaped by init, so the files' sums miss them."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.machine_at_start = machine_busy()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        spent = dict(report.user_properties).get("cpu") if report.when == "teardown" else None
        if spent is not None:
            path = report.nodeid.split("::", 1)[0]
            self.seconds[path] = self.seconds.get(path, 0.0) + spent

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        ranked = sorted(self.seconds.items(), key=lambda entry: -entry[1])
        terminalreporter.write_sep("-", f"CPU time: {sum(self.seconds.values()):.0f} s in the tests' process trees "
                                        f"({machine_busy() - self.machine_at_start:.0f} s of the whole machine); "
                                        "the costliest files")
        for path, spent in ranked[:25]:
            terminalreporter.write_line(f"{spent:8.1f} s  {path}")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--record-durations") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(DurationRecorder(), "caruso-durations")
    if config.getoption("--cpu-report"):
        if not hasattr(config, "workerinput"):
            config.pluginmanager.register(CpuReport(), "caruso-cpu-report")
        if config.getoption("numprocesses", None) in (None, 0) or hasattr(config, "workerinput"):
            config.pluginmanager.register(CpuMeter(), "caruso-cpu-meter")
