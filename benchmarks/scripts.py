"""Scripts: steps per second through the dialog engine, and web self-service latency at 200 sessions.

Measured in one run on 127.0.0.1:
- in process: answers per second through ``Engine.answer`` (target >= 20,000), against
  a hand-written Python loop doing the same checks and assignments (time ratio);
- the service in process (every step saved to SQLite) and over Pyro5 through a caruso
  proxy (the engine hosted by ``caruso serve``), against a trivial Pyro5 call;
- web self-service: 200 concurrent sessions (each customer thinks 0.5 to 1.5 s between
  answers) on a uvicorn server in its own process, JSON API; p50/p99 latency of the
  answers (target p99 < 50 ms), against a trivial endpoint of the same server paced
  the same way.
"""
from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._kit import solution
from caruso_core.testing.processes import free_port

LOOP = """<?xml version="1.0"?>
<script id="loop" version="1" title="Loop">
  <var name="count" value="0"/>
  <var name="total" value="0"/>
  <question id="pick" type="choice"><prompt>Step {count}: pick one</prompt>
    <option value="a">A</option><option value="b">B</option>
    <go to="pick" if="count &lt; 100000">
      <set var="count" value="count + 1"/><set var="total" value="total + len(pick)"/></go>
    <go to="done"/></question>
  <end id="done" outcome="done"/>
</script>
"""
FORM = """<?xml version="1.0"?>
<script id="form" version="1" title="Form">
  <question id="name" type="text" maxlength="40"><prompt>Name?</prompt><go to="age"/></question>
  <question id="age" type="number" min="0" max="130"><prompt>Age, {name}?</prompt><go to="when"/></question>
  <question id="when" type="date"><prompt>When?</prompt><go to="kind"/></question>
  <question id="kind" type="choice"><prompt>Kind?</prompt><option value="a">A</option><option value="b">B</option>
    <go to="ok"/></question>
  <question id="ok" type="yesno"><prompt>Confirm?</prompt><go to="done" if="ok"/><go to="name"/></question>
  <end id="done" outcome="done"><text>Thank you {name}.</text></end>
</script>
"""
ANSWERS = ["Ann", "42", "2026-05-01", "a", "yes"]
SESSIONS = 200
ROUNDS = 3


def run() -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "scripts").mkdir()
        (work / "scripts" / "loop.xml").write_text(LOOP)
        (work / "scripts" / "form.xml").write_text(FORM)
        results = _in_process(work)
        results.update(_over_pyro(work))
        results.update(_web(work))
    return results


def _hand_written(steps: int) -> float:
    """The same dialog without the engine: dict state, option check, condition, assignments, trail."""
    options = {"a", "b"}
    started = time.perf_counter()
    state = {"count": 0, "total": 0, "answers": {}, "trail": []}
    for number in range(steps):
        answer = "a" if number % 2 else "b"
        if answer not in options:
            raise ValueError(answer)
        state["answers"]["pick"] = answer
        if state["count"] < 100000:
            state["count"] += 1
            state["total"] += len(answer)
        state["trail"].append("pick")
    return (time.perf_counter() - started) / steps


def _engine_steps(steps: int, work: Path) -> float:
    from caruso_scripts import loader
    from caruso_scripts.engine import Engine
    script = loader.load(work / "scripts" / "loop.xml")
    engine = Engine({"loop": script}, actions={}, service=lambda key: None)
    session = engine.start("loop")
    started = time.perf_counter()
    for number in range(steps):
        engine.answer(session, "a" if number % 2 else "b", session.seq)
    return (time.perf_counter() - started) / steps


def _service_steps(steps: int, work: Path) -> float:
    from caruso_scripts.service import ScriptService
    engine = ScriptService(scripts=str(work / "scripts"), db=f"sqlite:///{work / 'inproc.db'}")
    view = engine.begin("loop")
    started = time.perf_counter()
    for number in range(steps):
        view = engine.answer(view["session"], "a" if number % 2 else "b", view["seq"])
    elapsed = time.perf_counter() - started
    engine.stop()
    return elapsed / steps


def _in_process(work: Path) -> dict:
    reference = min(_hand_written(20000) for _ in range(ROUNDS))
    engine = min(_engine_steps(5000, work) for _ in range(ROUNDS))
    service = min(_service_steps(500, work) for _ in range(ROUNDS))
    print(f"in process   engine {1 / engine:9.0f} steps/s (target >= 20000)   hand-written loop "
          f"{1 / reference:9.0f} steps/s   time ratio {engine / reference:.1f}")
    print(f"in process   service with SQLite {1 / service:7.0f} steps/s   time ratio to the bare engine "
          f"{service / engine:.1f}")
    return {"engine_steps_per_s": round(1 / engine), "hand_written_steps_per_s": round(1 / reference),
            "engine_to_hand_written_ratio": round(engine / reference, 1),
            "service_sqlite_steps_per_s": round(1 / service), "service_to_engine_ratio": round(service / engine, 1)}


def _over_pyro(work: Path) -> dict:
    with solution() as running:
        running.host("scripts", config={"scripts": [str(work / "scripts")], "db": f"sqlite:///{work / 'pyro.db'}"})
        running.host("benchmarks._services:Counter")
        client = running.client
        engine, counter = client.get("caruso.scripts/1"), client.get("counter")
        counter.increment()
        steps = []
        calls = []
        for _ in range(ROUNDS):
            view = engine.begin("loop")
            started = time.perf_counter()
            for number in range(300):
                view = engine.answer(view["session"], "a" if number % 2 else "b", view["seq"])
            steps.append((time.perf_counter() - started) / 300)
            started = time.perf_counter()
            for _ in range(300):
                counter.increment()
            calls.append((time.perf_counter() - started) / 300)
        step, call = min(steps), min(calls)
        print(f"over Pyro5   engine {1 / step:9.0f} steps/s   trivial call {1 / call:9.0f} calls/s   "
              f"time ratio {step / call:.1f}")
        return {"pyro_steps_per_s": round(1 / step), "pyro_trivial_calls_per_s": round(1 / call),
                "pyro_step_to_call_ratio": round(step / call, 1)}


def _web(work: Path) -> dict:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.scripts", "serve", str(port), str(work)],
                              cwd=str(Path(__file__).resolve().parent.parent), stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().startswith("ready"), "the self-service server did not start"
        answers, pings, failures = asyncio.run(_web_load(port))
    finally:
        server.terminate()
        server.wait(30)
    p50, p99 = _percentiles(answers)
    ping50, ping99 = _percentiles(pings)
    print(f"web          {SESSIONS} concurrent sessions, {len(answers)} answers: p50 {p50:.1f} ms  p99 {p99:.1f} ms "
          f"(target < 50)   trivial endpoint p50 {ping50:.1f} ms  p99 {ping99:.1f} ms   p99 ratio {p99 / ping99:.1f}"
          f"   failures {failures}")
    return {"web_sessions": SESSIONS, "web_answers": len(answers), "web_p50_ms": round(p50, 1),
            "web_p99_ms": round(p99, 1), "web_ping_p50_ms": round(ping50, 1), "web_ping_p99_ms": round(ping99, 1),
            "web_p99_ratio": round(p99 / ping99, 1), "web_failures": failures}


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] * 1e3, cuts[98] * 1e3


class _Connection:
    """A minimal HTTP/1.1 keep-alive client (lighter than a full client, so the server is what is measured)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "_Connection":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | str]:
        payload = json.dumps(body).encode() if body is not None else b""
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
        data = await self.reader.readexactly(length)
        is_json = any(line.lower().startswith("content-type: application/json") for line in lines)
        return int(lines[0].split()[1]), json.loads(data) if is_json else data.decode()

    def close(self) -> None:
        self.writer.close()


async def _web_load(port: int) -> tuple[list[float], list[float], int]:
    answers: list[float] = []
    pings: list[float] = []
    failures = 0

    async def customer(number: int) -> None:
        nonlocal failures
        rng = random.Random(number)
        await asyncio.sleep(rng.uniform(0, 1.0))
        connection = await _Connection.open(port)
        try:
            _, view = await connection.request("POST", "/api/start/form", {})
            for answer in ANSWERS:
                await asyncio.sleep(rng.uniform(0.5, 1.5))
                started = time.perf_counter()
                ping_status, _ = await connection.request("GET", "/ping")
                pings.append(time.perf_counter() - started)
                await asyncio.sleep(rng.uniform(0.0, 0.1))
                started = time.perf_counter()
                status, view = await connection.request("POST", f"/api/s/{view['session']}",
                                                        {"seq": view["seq"], "answer": answer})
                answers.append(time.perf_counter() - started)
                if status != 200 or ping_status != 200:
                    failures += 1
                    return
            if view["outcome"] != "done":
                failures += 1
        finally:
            connection.close()

    await asyncio.gather(*(customer(n) for n in range(SESSIONS)))
    return answers, pings, failures


def serve(port: int, work: Path) -> None:
    """The self-service server of the benchmark (a child process): form.xml plus GET /ping."""
    import uvicorn
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from caruso_scripts.service import ScriptService
    from caruso_scripts.web import create_app
    engine = ScriptService(scripts=str(work / "scripts" / "form.xml"), db=f"sqlite:///{work / 'web.db'}")
    app = create_app(engine, starts_per_minute=10 * SESSIONS)   # every customer here comes from 127.0.0.1

    async def ping(request: object) -> PlainTextResponse:
        return PlainTextResponse("pong")

    app.router.routes.append(Route("/ping", ping))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", backlog=1024)
    server = uvicorn.Server(config)

    async def main() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        print("ready", flush=True)
        await serving

    asyncio.run(main())


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve(int(sys.argv[2]), Path(sys.argv[3]))
