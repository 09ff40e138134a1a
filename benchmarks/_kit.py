"""What the benchmarks share: a solution of real processes, and fair timing of contenders."""
from __future__ import annotations

import contextlib
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from caruso_core import connect
from caruso_core.client import Client
from caruso_core.testing.processes import HostProcess, ManagerProcess, child_environment

ROOT = Path(__file__).resolve().parent.parent


class Solution:
    """A manager on 127.0.0.1 in a scratch folder, and the hosts started through it; while
    it runs, this process uses its data folder (and so its deployment secret)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.env = child_environment([str(ROOT)], work / "data", None)
        self.manager = ManagerProcess(work, lease=10.0, env=self.env)
        self.env["CARUSO_MANAGER"] = self.manager.uri
        self._data = os.environ.get("CARUSO_DATA")
        os.environ["CARUSO_DATA"] = self.env["CARUSO_DATA"]
        self.client: Client = connect(self.manager.uri)
        self.hosts: list[HostProcess] = []

    def host(self, reference: str, **options: Any) -> HostProcess:
        """Host ``reference`` (``caruso serve``) and wait until it is registered."""
        started = HostProcess(reference, self.manager, self.env, str(ROOT), **options)
        self.hosts.append(started)
        return started

    def stop(self) -> None:
        for host in reversed(self.hosts):
            host.stop()
        self.manager.stop()
        if self._data is None:
            os.environ.pop("CARUSO_DATA", None)
        else:
            os.environ["CARUSO_DATA"] = self._data


@contextlib.contextmanager
def solution() -> Iterator[Solution]:
    """A :class:`Solution` whose processes and scratch folder are gone at exit."""
    with tempfile.TemporaryDirectory() as scratch:
        running = Solution(Path(scratch))
        try:
            yield running
        finally:
            running.stop()


def rounds(contenders: dict[str, list[Callable[[], Any]]], reference: str,
           clock: Callable[[], float] = time.perf_counter) -> tuple[dict, dict]:
    """Median seconds of each contender's rounds, and median per-round time ratios to ``reference``.

    Round ``n`` runs every contender's ``n``-th callable back to back in a rotating order,
    so that load from other processes, which drifts slowly, falls on all of them alike.
    ``clock`` may be ``time.process_time`` for contenders running in this process only:
    their CPU time, without the time spent waiting for a core other processes hold.
    As ``timeit`` does, this process collects its garbage before each call and not during
    it, so that no contender pays for collecting what another left (other processes, such
    as a service called over Pyro5, collect as they always do); what existed before the
    first round is left out of those collections.
    """
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    gc.freeze()
    try:
        for number in range(len(contenders[reference])):
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                gc.disable()
                try:
                    started = clock()
                    contenders[name][number]()
                    times[name].append(clock() - started)
                finally:
                    gc.enable()
    finally:
        gc.unfreeze()
    seconds = {name: statistics.median(times[name]) for name in names}
    ratios = {name: statistics.median(t / r for t, r in zip(times[name], times[reference]))
              for name in names if name != reference}
    return seconds, ratios


def repeated(call: Callable[[], Any], count: int) -> Callable[[], None]:
    """A callable that makes ``count`` calls of ``call``."""
    def calls() -> None:
        for _ in range(count):
            call()
    return calls


def in_process_storage(model: str, name: str, measure: Callable[[Any], dict]) -> dict:
    """``measure(storage)`` of a storage manager in this process over the model text
    ``model`` and the SQLite file ``name``, in a fresh solution's folder (no due-rule thread)."""
    from caruso_storage.service import StorageManager

    with solution() as running:
        os.environ["CARUSO_DATA"] = str(running.work / "data")
        path = running.work / "bench.xml"
        path.write_text(model)
        storage = StorageManager(model=str(path), db=f"sqlite:///{running.work / name}", due_every=0)
        try:
            return measure(storage)
        finally:
            storage.stop()
