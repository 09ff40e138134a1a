"""``caruso demo``: the utility solution, started, used for a morning, swapped, reported.

One command, nothing more to install: it starts the utility vertical on SQLite on
127.0.0.1 (manager, storage, script engine, communication server, monitor, reports,
front office) in a folder of its own, loads the demo customers, plays a compressed
morning of calls and web chats with virtual agents (:mod:`caruso_utility.morning`),
hot-swaps the script engine half-way while dialogs run, prints the incoming-calls
report and the front office's address, and stops everything (or keeps serving with
``--serve``). It exits 1 if any call or dialog was lost.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import click
import tomli_w

from caruso_core import connect, progress, remoting, signals
from caruso_core.cli import port_options
from caruso_core.deployment import hold_folder, load, place
from caruso_core.errors import ConfigError
from caruso_core.ports import free_port
from caruso_core.supervisor import Supervisor
from caruso_core.verticals import deployment_data
from caruso_utility.demo import load as load_customers
from caruso_utility.morning import MailSink, Morning

START_TIMEOUT = 120.0


def _interrupt() -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _workspace(folder: Path | None, serve: bool) -> Iterator[Path]:
    if folder is not None or serve:
        path = (folder or Path("caruso-demo")).resolve()
        path.mkdir(parents=True, exist_ok=True)
        yield path
    else:
        with tempfile.TemporaryDirectory(prefix="caruso-demo-") as scratch:
            yield Path(scratch)


def _supervise(supervisor: Supervisor, failed: list[ConfigError]) -> None:
    """Run ``supervisor``; a start that fails is put in ``failed`` for the demo to say."""
    try:
        supervisor.run()
    except ConfigError as error:
        failed.append(error)


def _came_up(supervisor: Supervisor, running: threading.Thread) -> bool:
    """Whether the solution is ready within START_TIMEOUT, given up as soon as its supervisor ends."""
    deadline = time.monotonic() + START_TIMEOUT
    while running.is_alive() and time.monotonic() < deadline:
        if supervisor.ready.wait(0.1):
            return True
    return supervisor.ready.is_set() and running.is_alive()


def _tell_tail(log: Path, lines: int = 15) -> None:
    """The last ``lines`` of the services' log on standard error (a temporary one is gone after)."""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]:
        click.echo(line, err=True)


def _deployment(workspace: Path, mail_port: int, manager_port: int, web_port: int) -> tuple[Path, str, dict]:
    """Write the demo's deployment file; returns its path, the front office URL and the data.

    Mail goes to the demo's own SMTP sink on ``mail_port``: the script engine's e-mails
    and the agents' replies to customers' e-mails.
    """
    data = deployment_data(["utility"])
    data["manager"] = {"uri": remoting.manager_uri(os.environ.get("CARUSO_MANAGER")), "lease": 10}
    data = place(data, manager_port, web_port)
    services = data["services"]
    front_office = services["frontoffice"]["config"]["address"]
    services["comm"]["config"]["channels"]["webchat"]["starts_per_minute"] = 300   # visitors share 127.0.0.1
    services["comm"]["config"]["channels"]["email"] = {
        "queue": "email", "address": "service@utility.example",
        "port": free_port(avoid=(manager_port, web_port, web_port + 1)),     # theirs may be given, not listening yet
        "relay_host": "127.0.0.1", "relay_port": mail_port,
        "lookup": {"object": "Customer", "field": "email", "key": "id"}}
    services["scripts"]["config"]["settings"] = {"smtp_host": "127.0.0.1", "smtp_port": mail_port,
                                                  "mail_from": "service@utility.example"}
    for name in ("monitor", "reports"):
        services.setdefault(name, {"use": name})
    path = workspace / "caruso.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path, front_office, data


@click.command()
@click.option("--customers", type=click.IntRange(10, 100_000), default=10_000, show_default=True,
              help="Demo customers to load.")
@click.option("--calls", type=click.IntRange(1, 5_000), default=60, show_default=True, help="Calls in the morning.")
@click.option("--chats", type=click.IntRange(0, 200), default=6, show_default=True, help="Web chats in the morning.")
@click.option("--mails", type=click.IntRange(0, 200), default=4, show_default=True, help="E-mails in the morning.")
@click.option("--serve", is_flag=True, help="Keep serving after the morning (in ./caruso-demo; ports "
              "7717 for the manager, 8080 for the front office, 8081 for its web chat, unless told otherwise).")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the demo's data and log (default: a temporary one).")
@port_options
def demo(customers: int, calls: int, chats: int, mails: int, serve: bool, folder: Path | None,
         manager_port: int | None, web_port: int | None) -> None:
    """Run the utility solution for a morning: calls, chats, a hot-swap, the report."""
    started = time.monotonic()

    def say(line: str) -> None:
        click.echo(f"[{time.monotonic() - started:5.1f}s] {line}")

    signals.on_stop(_interrupt)       # SIGTERM too, and SIGINT even where a shell ignored it
    default_manager = remoting.manager_uri() if "CARUSO_MANAGER" in os.environ else None
    manager_port = manager_port or (None if default_manager else 7717 if serve else free_port())
    web_port = web_port or (8080 if serve else free_port(span=2, avoid=[manager_port]))
    # the mail sink listens first: not on a port the manager or the front office will take
    with _workspace(folder, serve) as workspace, MailSink(avoid=(manager_port, web_port, web_port + 1)) as sink:
        os.environ["CARUSO_DATA"] = str(workspace / "data")
        held = hold_folder()                # as caruso up does: one solution on these databases
        path, front_office, data = _deployment(workspace, sink.port, manager_port, web_port)
        manager = data["manager"]["uri"]
        os.environ["CARUSO_MANAGER"] = manager
        log = (workspace / "caruso.log").open("a", encoding="utf-8")
        supervisor = Supervisor(load(str(path)), echo=lambda line: print(line, file=log, flush=True))
        failed: list[ConfigError] = []
        running = threading.Thread(target=_supervise, args=(supervisor, failed), name="caruso-demo-supervisor")
        running.start()
        try:
            with progress.step("starting the utility solution"):
                if not _came_up(supervisor, running):
                    log.flush()
                    _tell_tail(workspace / "caruso.log")
                    raise ConfigError("the solution did not start: " + (
                        str(failed[0]) if failed else f"not ready within {START_TIMEOUT:g} s"))
            client = connect(manager)
            say("utility solution up: " + ", ".join(s["name"] for s in client.services()))
            counts = load_customers(client.get("storage"), customers=customers)
            say(f"loaded {sum(counts.values()):,} records for {customers:,} customers")

            def hot_swap() -> None:
                swapped = supervisor.swap("scripts", version="1.0.1")
                say(f"script engine hot-swapped mid-morning: {swapped['standby']} -> {swapped['active']}, "
                    "dialogs carry on")

            say(f"morning starts: {calls} calls, {chats} web chats, {mails} e-mails, 6 virtual agents")
            morning = Morning(client, customers, calls, chats, mails)
            morning.run(halfway=hot_swap)
            tally = morning.tally
            say(f"morning over: {tally['answered']}/{tally['offered']} calls answered, "
                f"{tally['handled']} completed, {tally['chats closed']}/{chats} chats, "
                f"{tally['mails answered']}/{mails} e-mails answered, "
                f"{tally['dialogs handed over']} dialog(s) handed over to a person; "
                f"{len(sink.messages)} e-mails delivered to customers")
            for key in sorted(k for k in tally if k.startswith("dialog ")):
                say(f"  {key}: {tally[key]}")
            client.get("caruso.comm/1").flush()        # the event log holds the whole morning
            report = subprocess.run([sys.executable, "-m", "caruso_core", "report", "incoming-calls",
                                     "--db", f"sqlite:///{workspace / 'data' / 'comm.db'}", "--period", "hour"],
                                    capture_output=True, text=True, timeout=120)
            click.echo(report.stdout.rstrip() or report.stderr.rstrip())
            if serve:
                say(f"front office: {front_office} (first sign-in: the setup link in {workspace / 'caruso.log'})")
            if morning.failures:
                for failure in morning.failures:
                    click.echo(f"lost: {failure}", err=True)
                raise SystemExit(1)
            if serve:
                say("serving; Ctrl-C stops it")
                while running.is_alive():       # not join(): an interrupted join leaves the thread
                    time.sleep(0.5)             # looking finished to later joins (CPython 3.11)
        except KeyboardInterrupt:
            say("stopping")
        finally:
            supervisor.stop()
            running.join(120)
            log.close()
            os.close(held)
        say("done" if serve or folder else "done; to look around in the front office afterwards, "
            "run: caruso demo --serve")
