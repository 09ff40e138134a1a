"""The ``sim`` channel of a running server: simulated callers and agents in real time.

For demos, wallboards and load tests of a deployment: callers arrive in ``queue`` as a
Poisson process (``calls_per_hour``), with exponential patience if ``patience`` is
given; ``agents`` simulated agents (``sim-agent-1`` ...) log in, accept every offer
and complete after an exponential handling time (mean ``aht``). ``speed`` runs the
clock of arrivals, patience and handling that many times faster than real time. The
same model on a virtual clock is ``caruso simulate`` (``caruso_comm.simulator``).
"""
from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from typing import Any, Callable

from caruso_core.context import HostContext
from caruso_core.errors import CarusoError, ConfigError

from caruso_comm.events import OFFER

NAME = "sim"


class SimTraffic:
    def __init__(self, server: Any, context: HostContext, queue: str, calls_per_hour: float, aht: float = 180.0,
                 agents: int = 0, patience: float | None = None, speed: float = 1.0, seed: int = 0) -> None:
        if calls_per_hour <= 0 or aht <= 0 or speed <= 0 or (patience is not None and patience <= 0):
            raise ConfigError("sim channel: calls_per_hour, aht, speed and patience must be above 0")
        self.server, self.queue = server, queue
        self.rate, self.aht, self.patience, self.speed = calls_per_hour / 3600.0, aht, patience, speed
        self.agents = [f"sim-agent-{n}" for n in range(1, agents + 1)]
        self.random = random.Random(seed)
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-traffic", daemon=True)
        self._calls = itertools.count(1)

    def start(self) -> None:
        for agent in self.agents:
            self.server.login(agent, {}, {"voice": 1})
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def info(self) -> dict[str, Any]:
        return {"queue": self.queue, "agents": list(self.agents)}

    def send(self, interaction: dict[str, Any], agent: str, text: str) -> None:
        """Simulated callers take no messages."""

    def messages(self, interaction: str) -> list[dict[str, Any]]:
        return []

    def held(self, interactions: list[dict[str, Any]]) -> list[str]:
        """After a restart: simulated callers do not outlive the server that ran them."""
        return []

    def _after(self, seconds: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._due, (time.monotonic() + seconds / self.speed, next(self._order), action))

    def _run(self) -> None:
        since = self.server.events(0, 0)["last"]
        self._after(self.random.expovariate(self.rate), self._arrive)
        while not self._stop.is_set():
            while self._due and self._due[0][0] <= time.monotonic():
                self._attempt(heapq.heappop(self._due)[2])
            wait = max(0.0, min(self._due[0][0] - time.monotonic(), 1.0)) if self._due else 1.0
            feed = self.server.events(since, wait)
            since = feed["last"]
            for event in feed["events"]:
                if event["event"] == OFFER and event["agent"] in self.agents:
                    self._attempt(lambda e=event: self._answer(e["agent"], e["interaction"]))

    @staticmethod
    def _attempt(action: Callable[[], None]) -> None:
        """Run a caller's or agent's action; it may have lost a race (call ended, offer gone)."""
        try:
            action()
        except CarusoError:
            pass

    def _arrive(self) -> None:
        self._after(self.random.expovariate(self.rate), self._arrive)
        call = self.server.arrive(self.queue, id=f"sim-{time.time():.0f}-{next(self._calls)}",
                                  customer=None, from_="+0000000")
        if self.patience is not None:
            self._after(self.random.expovariate(1.0 / self.patience),
                        lambda: self.server.abandon(call["id"]))

    def _answer(self, agent: str, interaction: str) -> None:
        self.server.accept(agent, interaction)
        self._after(self.random.expovariate(1.0 / self.aht),
                    lambda: self.server.complete(agent, interaction, "handled"))
