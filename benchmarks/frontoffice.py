"""Front office: the agent's customer 360 page against a bare ASGI handler.

Measured in one run on 127.0.0.1: 50 concurrent agents (each signed in with its own
session) request the customer 360 page of a customer holding 1,000 contact-history
entries, served by the front office (``caruso serve frontoffice``) over the storage
service, both hosted behind a manager; the reference is a bare ASGI app under uvicorn
returning the same HTML from a precomputed string. Two loads:

- saturated: every agent requests the page again as soon as it has it; figures are
  requests per second and p99 latency of each server and the throughput ratio;
- paced: every agent opens the page once per second (a busy agent desktop), phases
  spread; the figure is the p99 latency against the target of 100 ms.

Then push: 50 agents, each signed in as itself and available at the communication
server, hold their desk's push stream (``/desk/stream``); calls arrive one at a time,
each offered to a free agent; the figure is the p99 time from the arrival to the first
``desk`` event of an agent it was offered to (target < 300 ms), against the
communication server's own event feed (a long poll of ``events``) in the same run.

Last, saves: one agent opens and saves a task's edit form ``SAVES`` times in a row (each
save checked, written, recorded in the audit trail and redirected); the figure is the mean
time of one against the storage's own ``get`` and ``update`` over Pyro5, and the audit
trail's share of it (its ``add`` on the same database).
"""
from __future__ import annotations

import asyncio
import html
import re
import statistics
import subprocess
import sys
import time

import httpx

from benchmarks._kit import ROOT, solution
from caruso_core.testing.processes import free_port
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.audit import AuditTrail
from caruso_frontoffice.database import open_database

AGENTS = 50
# idle connections close on the client's side before uvicorn's keep-alive timeout (5 s)
# does, so that no request races a server closing its connection
LIMITS = httpx.Limits(keepalive_expiry=3)
HISTORY = 1000
SECONDS = 6.0
ROUNDS = 2
PACED_SECONDS = 8.0
PERIOD = 1.0
PAGE = "/views/customer-360/show?id=1"
PASSWORD = "bench-password-1"
QUEUE = "general"
PUSH_LIMIT = 10.0     # seconds an offer may take to reach its desk before the run fails
SAVES = 200


def run() -> dict:
    with solution() as running:
        db = f"sqlite:///{running.work / 'frontoffice.db'}"
        accounts = Accounts(open_database(db))
        for name in ["agent", *_desk_agents()]:
            accounts.add(name, "agent", PASSWORD)
        running.host("storage")
        _seed(running.client.get("caruso.storage/1"))
        running.host("comm", config={"db": f"sqlite:///{running.work / 'comm.db'}", "queues": [{"name": QUEUE}]})
        running.host("frontoffice", config={"address": "http://127.0.0.1:0", "db": db,
                                            "desk": {"capacity": {"voice": 1}}})
        front_office = running.client.get("frontoffice").url()
        html = running.work / "page.html"
        html.write_text(asyncio.run(_page(front_office)))
        port = free_port()
        bare = subprocess.Popen([sys.executable, "-m", "uvicorn", "benchmarks._frontoffice_bare:app",
                                 "--port", str(port), "--log-level", "warning", "--no-access-log"],
                                cwd=ROOT, env={**running.env, "CARUSO_BENCH_HTML": str(html)})
        try:
            measured = asyncio.run(_measure(front_office, f"http://127.0.0.1:{port}"))
            pushed = asyncio.run(_push(front_office, running.client.get("caruso.comm/1")))
            return {**measured, **pushed, **asyncio.run(_saves(front_office, running.client.get("caruso.storage/1"),
                                                              db))}
        finally:
            bare.terminate()
            bare.wait()


def _seed(storage) -> None:
    customer = storage.create("Customer", {"name": "Acme Utilities", "city": "Berlin", "phone": "+49 30 1234567"})
    storage.create("Contact", {"customer_id": customer["id"], "name": "Carl Meier", "role": "facility manager"})
    for title in ("Smart meters", "Green tariff", "Service contract"):
        storage.create("Opportunity", {"customer_id": customer["id"], "title": title, "stage": "initiation"})
    for number in range(HISTORY):
        storage.add_contact("Customer", customer["id"], {
            "channel": ("phone", "email", "webchat")[number % 3], "agent": "agent",
            "summary": f"contact number {number}: question about the bill"})


def _desk_agents() -> list[str]:
    return [f"desk-{number}" for number in range(AGENTS)]


async def _signed_in(base: str, name: str = "agent") -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30, limits=LIMITS)
    form = (await client.get("/signin")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    response = await client.post("/signin", data={"csrf": csrf, "name": name, "password": PASSWORD})
    assert response.status_code == 303, response.status_code
    return client


async def _page(base: str) -> str:
    client = await _signed_in(base)
    response = await client.get(PAGE)
    await client.aclose()
    assert response.status_code == 200 and "contact number 999" in response.text
    return response.text


async def _load(clients: list[httpx.AsyncClient], seconds: float, period: float = 0.0
                ) -> tuple[float, list[float]]:
    """Every client requests the page for ``seconds``, starting a request every ``period``
    seconds (0: at once after the last answer): (requests/s, latencies)."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def agent(client: httpx.AsyncClient, phase: float) -> None:
        await asyncio.sleep(phase)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            response = await client.get(PAGE)
            assert response.status_code == 200, response.status_code
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(max(period - (time.perf_counter() - started), 0))

    began = time.perf_counter()
    await asyncio.gather(*(agent(client, period * n / len(clients)) for n, client in enumerate(clients)))
    return len(latencies) / (time.perf_counter() - began), latencies


async def _measure(front_office: str, bare: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        try:
            async with httpx.AsyncClient() as probe:
                await probe.get(bare)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
    targets = {"bare": [httpx.AsyncClient(base_url=bare, timeout=30, limits=LIMITS) for _ in range(AGENTS)],
               "frontoffice": [await _signed_in(front_office) for _ in range(AGENTS)]}
    rates: dict[str, list[float]] = {name: [] for name in targets}
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    for name, clients in targets.items():
        await _load(clients, 1.0)
    for _ in range(ROUNDS):
        for name, clients in targets.items():
            rate, measured = await _load(clients, SECONDS / ROUNDS)
            rates[name].append(rate)
            latencies[name].extend(measured)
    rps = {name: statistics.median(values) for name, values in rates.items()}
    p99 = {name: _p99(values) for name, values in latencies.items()}
    ratio = rps["bare"] / rps["frontoffice"]
    print(f"saturated, {AGENTS} agents, customer with {HISTORY} history entries:")
    print(f"  front office       {rps['frontoffice']:7.0f} req/s  p99 {p99['frontoffice']:7.1f} ms")
    print(f"  bare ASGI handler  {rps['bare']:7.0f} req/s  p99 {p99['bare']:7.1f} ms"
          f"   throughput ratio bare/front office {ratio:.1f}")
    paced = {name: _p99((await _load(clients, PACED_SECONDS, PERIOD))[1]) for name, clients in targets.items()}
    print(f"paced, {AGENTS} agents opening the page every {PERIOD:g} s:")
    print(f"  front office p99 {paced['frontoffice']:6.1f} ms (target < 100 ms)   "
          f"bare ASGI handler p99 {paced['bare']:6.1f} ms   ratio {paced['frontoffice'] / paced['bare']:.1f}")
    for clients in targets.values():
        for client in clients:
            await client.aclose()
    return {"agents": AGENTS, "history_entries": HISTORY,
            "frontoffice_requests_per_s": round(rps["frontoffice"], 1), "frontoffice_p99_ms": round(p99["frontoffice"], 1),
            "bare_requests_per_s": round(rps["bare"], 1), "bare_p99_ms": round(p99["bare"], 1),
            "throughput_ratio": round(ratio, 2), "paced_frontoffice_p99_ms": round(paced["frontoffice"], 1),
            "paced_bare_p99_ms": round(paced["bare"], 1), "p99_target_ms": 100}


async def _push(front_office: str, comm) -> dict:
    """Arrival to desk event, and arrival to the feed's long poll answering, per call."""
    agents = _desk_agents()
    for name in agents:
        comm.login(name, {}, {"voice": 1})
    desk_events: dict[str, list[float]] = {name: [] for name in agents}
    clients = [await _signed_in(front_office, name) for name in agents]

    async def follow(client: httpx.AsyncClient, name: str) -> None:
        async with client.stream("GET", "/desk/stream", timeout=None) as response:
            async for line in response.aiter_lines():
                if line == "event: desk":
                    desk_events[name].append(time.perf_counter())

    followers = [asyncio.create_task(follow(client, name)) for client, name in zip(clients, agents)]
    await _until(lambda: all(desk_events.values()))        # every desk shows its first state
    pushed, fed = [], []
    for number in range(AGENTS):
        after = (await asyncio.to_thread(comm.events, None, 0))["last"]
        feed = asyncio.create_task(asyncio.to_thread(comm.events, after, PUSH_LIMIT))
        started = time.perf_counter()
        call = (await asyncio.to_thread(comm.arrive, QUEUE, from_=f"+49 30 {number:07d}"))["id"]
        await feed
        fed.append(time.perf_counter() - started)
        offered = await _until(lambda: comm.interaction(call)["offers"])
        await _until(lambda: any(seen > started for agent in offered for seen in desk_events[agent]))
        pushed.append(min(seen for agent in offered for seen in desk_events[agent] if seen > started) - started)
    for task in followers:
        task.cancel()
    await asyncio.gather(*followers, return_exceptions=True)
    for client in clients:
        await client.aclose()
    p99 = {"desk": _p99(pushed), "feed": _p99(fed)}
    print(f"push, {AGENTS} agents on their desk's stream, {len(pushed)} calls offered one at a time:")
    print(f"  arrival to desk event p99 {p99['desk']:6.1f} ms (target < 300 ms)   "
          f"arrival to the event feed p99 {p99['feed']:6.1f} ms   ratio {p99['desk'] / p99['feed']:.1f}")
    return {"push_p99_ms": round(p99["desk"], 1), "push_max_ms": round(max(pushed) * 1e3, 1),
            "feed_p99_ms": round(p99["feed"], 1), "push_ratio": round(p99["desk"] / p99["feed"], 2),
            "push_p99_target_ms": 300}


async def _saves(front_office: str, storage, db: str) -> dict:
    """Mean seconds of a task's edit form opened and saved through the front office, of the
    storage's ``get`` and ``update`` of the same task over Pyro5, and of the audit trail's ``add``."""
    task = storage.create("Task", {"subject": "Call back"})
    client = await _signed_in(front_office)
    path = f"/views/task-edit/edit?id={task['id']}"
    started = time.perf_counter()
    for number in range(SAVES):
        form = (await client.get(path)).text
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
        hidden = {name: html.unescape(value) for name, value in hidden.items()}
        response = await client.post(path, data={**hidden, "subject": f"Call back {number}"})
        assert response.status_code == 303, re.findall(r'role="alert">(.*?)<', response.text)
    through_page = (time.perf_counter() - started) / SAVES
    await client.aclose()
    started = time.perf_counter()
    for number in range(SAVES):
        version = storage.get("Task", task["id"])["_version"]
        storage.update("Task", task["id"], {"subject": f"Called back {number}"}, version=version)
    direct = (time.perf_counter() - started) / SAVES
    trail = AuditTrail(open_database(db))
    started = time.perf_counter()
    for number in range(SAVES):
        trail.add("agent", "changed", "Task", {"id": task["id"]}, ["subject"])
    audit = (time.perf_counter() - started) / SAVES
    print(f"saves, one agent opening and saving a task's edit form {SAVES} times:")
    print(f"  front office {through_page * 1e3:6.2f} ms a save (audit trail {audit * 1e3:5.2f} ms of it)   "
          f"storage get and update over Pyro5 {direct * 1e3:6.2f} ms   ratio {through_page / direct:.1f}")
    return {"save_ms": round(through_page * 1e3, 2), "storage_get_update_ms": round(direct * 1e3, 2),
            "audit_add_ms": round(audit * 1e3, 2), "save_ratio": round(through_page / direct, 2)}


async def _until(read, limit: float = PUSH_LIMIT):
    """The first true value of ``read()`` (a blocking call, run in a thread)."""
    deadline = time.monotonic() + limit
    while not (value := await asyncio.to_thread(read)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing came within {limit:g} s")
        await asyncio.sleep(0.005)
    return value


def _p99(latencies: list[float]) -> float:
    """The 99th percentile of ``latencies``, in milliseconds."""
    return statistics.quantiles(latencies, n=100)[98] * 1e3
