"""Manager group: what sharing the registry in PostgreSQL costs, and how fast a follower leads.

Measured in one run on 127.0.0.1, two ``caruso manager`` processes on a temporary
PostgreSQL cluster against one manager on SQLite (the reference):
- register + unregister pairs (each a write, and the group's an event recorded and
  announced) and lookups (answered from memory), as time ratios group / SQLite;
- takeover: ``kill -9`` of the leader until the follower answers, in seconds and as a
  ratio to its bound ``lease / 4`` (the follower's polling interval), over several kills.
"""
from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._kit import ROOT, repeated, rounds
from caruso_core import ManagerUnreachable, connect
from caruso_core.testing.postgres import Cluster, find_binaries
from caruso_core.testing.processes import ManagerProcess, child_environment

LEASE = 2.0
PAIRS = 50
LOOKUPS = 500
ROUNDS = 11
KILLS = 9
SPEC = {"name": "bench", "interface": "bench.thing/1", "version": "1.0.0"}


def run() -> dict:
    binaries = find_binaries()
    if binaries is None:
        raise SystemExit("the manager-group benchmark needs PostgreSQL: apt-get install postgresql")
    cluster = Cluster(binaries)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            return _measure(Path(scratch), cluster.url)
    finally:
        cluster.stop()


def _measure(work: Path, database: str) -> dict:
    env = child_environment([str(ROOT)], work / "data", None)
    alone = ManagerProcess(work, LEASE, env)
    group = [ManagerProcess(work, LEASE, env, db=database) for _ in range(2)]
    data = os.environ.get("CARUSO_DATA")
    os.environ["CARUSO_DATA"] = env["CARUSO_DATA"]       # this process proves the managers' secret
    try:
        clients = {"sqlite": connect(alone.uri), "group": connect(",".join(m.uri for m in group))}
        clients["group"].services()
        write_seconds, write_ratios = rounds({name: [repeated(lambda c=client: _pair(c), PAIRS)] * ROUNDS
                                  for name, client in clients.items()}, "sqlite")
        _, read_ratios = rounds({name: [repeated(lambda c=client: c.lookup("bench"), LOOKUPS)] * ROUNDS
                                 for name, client in clients.items()}, "sqlite")
        print(f"register+unregister  group {write_seconds['group'] / PAIRS * 1e3:.2f} ms, SQLite "
              f"{write_seconds['sqlite'] / PAIRS * 1e3:.2f} ms a pair, time ratio {write_ratios['group']:.2f}")
        print(f"lookup               group / SQLite time ratio {read_ratios['group']:.2f}")
        takeovers = [_takeover(group) for _ in range(KILLS)]
        median = statistics.median(takeovers)
        print(f"takeover after kill -9: median {median:.3f} s, longest {max(takeovers):.3f} s over {KILLS} kills; "
              f"median / bound (lease / 4 = {LEASE / 4:g} s) {median / (LEASE / 4):.2f}")
        return {"write_ratio": round(write_ratios["group"], 3), "lookup_ratio": round(read_ratios["group"], 3),
                "takeover_s": round(median, 3), "takeover_longest_s": round(max(takeovers), 3),
                "takeover_to_bound": round(median / (LEASE / 4), 3)}
    finally:
        for manager in [alone, *group]:
            manager.stop()
        if data is None:
            os.environ.pop("CARUSO_DATA", None)
        else:
            os.environ["CARUSO_DATA"] = data


def _pair(client) -> None:
    """Register an instance nobody hosts and unregister it again."""
    answer = client.manager_call("register", SPEC, "PYRO:bench@127.0.0.1:9", "PYRO:caruso.host@127.0.0.1:9", "t")
    client.manager_call("unregister", answer["instance_id"], answer["lease_token"])


def _takeover(group: list[ManagerProcess]) -> float:
    """Seconds from killing the leader to the other manager answering; the killed one starts again."""
    time.sleep(random.uniform(LEASE, 2 * LEASE))        # the kill falls anywhere in the follower's polling
    leader = next(m for m in group if _answers(m))
    other = next(m for m in group if m is not leader)
    leader.kill()
    killed = time.perf_counter()
    while not _answers(other):
        time.sleep(0.005)
    took = time.perf_counter() - killed
    leader.restart()
    return took


def _answers(manager: ManagerProcess) -> bool:
    try:
        connect(manager.uri, timeout=1).services()
    except ManagerUnreachable:
        return False
    return True
