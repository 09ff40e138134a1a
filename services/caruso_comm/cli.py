"""Commands: ``caruso simulate`` (capacity planning with the ``sim`` channel) and
``caruso comm`` (queues, agents and campaigns of the running server)."""
from __future__ import annotations

import datetime as dt
import json

import click

from caruso_core import connect, progress
from caruso_core.cli import Finite, manager_option
from caruso_core.errors import ConfigError, one_line

from caruso_comm.campaign import CONNECT_WITHIN
from caruso_comm.eventlog import EventLog
from caruso_comm.simulator import Scenario, Simulation

FIGURES = ("offered", "answered", "abandoned", "service_level", "asa_seconds", "aht_seconds",
           "occupancy")

MANAGER = "caruso.manager"          # where the group keeps its --manager for its commands


OPENING = dt.time(8, tzinfo=dt.timezone.utc)     # when a simulated day's calls start arriving


def _start_of_day(day: dt.date | None, hours: float, written: bool) -> float:
    """08:00 UTC of ``day`` (default: yesterday, the last full day). The event log (``written``)
    gets no arrivals still to come: hours past now are refused in one line."""
    now = dt.datetime.now(dt.timezone.utc)
    day = day or now.date() - dt.timedelta(days=1)
    start = dt.datetime.combine(day, OPENING)
    end = start + dt.timedelta(hours=hours)
    if written and end > now:
        raise ConfigError(f"--db: the simulated calls of {day:%Y-%m-%d} arrive until {end:%Y-%m-%d %H:%M} UTC, "
                          f"after now ({now:%Y-%m-%d %H:%M} UTC): reports would count calls still to come; "
                          "name an earlier --date or give fewer --hours")
    return start.timestamp()


@click.command()
@click.option("--agents", type=click.IntRange(min=1), required=True, help="Agents logged in all day.")
@click.option("--calls-per-hour", type=Finite(min=0, min_open=True), required=True,
              help="Mean arrival rate (Poisson).")
@click.option("--aht", type=Finite(min=0, min_open=True), required=True,
              help="Mean handling time in seconds (exponential).")
@click.option("--hours", type=Finite(min=0, min_open=True), required=True,
              help="Hours of arrivals; calls still waiting then are served before the end.")
@click.option("--patience", type=Finite(min=0, min_open=True), default=None,
              help="Mean caller patience in seconds (exponential); callers hang up after it.")
@click.option("--no-abandon", is_flag=True, help="Callers wait as long as it takes (the default).")
@click.option("--sl-target", type=Finite(min=0), default=20.0, show_default=True,
              help="Service-level target in seconds.")
@click.option("--strategy", default="longest_idle", show_default=True, help="Routing strategy.")
@click.option("--wrap-up", type=Finite(min=0), default=0.0, show_default=True,
              help="Wrap-up seconds after each call.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="The day simulated, its calls arriving from 08:00 UTC  [default: yesterday, UTC].")
@click.option("--db", default=None,
              help="Write the event log to this database URL; the day's hours of arrivals must have "
                   "passed (a window reaching past now is refused).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def simulate(agents: int, calls_per_hour: float, aht: float, hours: float, patience: float | None,
             no_abandon: bool, sl_target: float, strategy: str, wrap_up: float, seed: int,
             day: dt.datetime | None, db: str | None, as_json: bool) -> None:
    """Simulate a day of inbound calls on the real ACD and print the call-centre figures.

    The day is yesterday (UTC) unless --date names another; calls arrive from 08:00 UTC for
    --hours. With --db the events are written at those times, so they must be past: a window
    that reaches past now is refused (name an earlier --date or fewer --hours)."""
    if patience is not None and no_abandon:
        raise ConfigError("give either --patience SECONDS or --no-abandon, not both")
    scenario = Scenario(agents=agents, calls_per_hour=calls_per_hour, aht=aht, hours=hours,
                        patience=patience, sl_target=sl_target, strategy=strategy,
                        wrap_up=wrap_up, seed=seed,
                        start=_start_of_day(day.date() if day else None, hours, db is not None))
    log = _event_log(db) if db else None
    try:
        with progress.step(f"simulating {hours:g} h of {calls_per_hour:g} calls an hour"):
            results = Simulation(scenario, sink=log).run()
    finally:
        if log is not None:
            log.close()
    if as_json:
        click.echo(json.dumps(results, sort_keys=True))
    else:
        for name in FIGURES:
            value = results[name]
            click.echo(f"{name:>14}  {value:.4g}" if isinstance(value, float) else f"{name:>14}  {value}")


def _event_log(url: str) -> EventLog:
    try:
        return EventLog(url)
    except Exception as error:
        raise ConfigError(f"--db {url}: cannot open the event log database: {one_line(error)}") from None


def _server():
    return connect(click.get_current_context().meta.get(MANAGER)).get("caruso.comm/1")


def _show(rows: list[dict], columns: tuple[str, ...], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows, sort_keys=True, default=str))
        return
    click.echo("  ".join(f"{c:<14}" for c in columns).rstrip())
    for row in rows:
        click.echo("  ".join(f"{str(row.get(c, '')):<14}" for c in columns).rstrip())


@click.group()
@manager_option
@click.pass_context
def comm(context: click.Context, manager_uri: str | None) -> None:
    """Queues, agents, IVR menus and campaigns of the running communication server (caruso.comm/1)."""
    context.meta[MANAGER] = manager_uri


@comm.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def queues(as_json: bool) -> None:
    """Queues with their strategy, waiting interactions and staffing."""
    rows = [dict(q, ready=q["staffing"]["ready"], logged_in=q["staffing"]["logged_in"])
            for q in _server().queues()]
    _show(rows, ("name", "strategy", "channel", "waiting", "logged_in", "ready"), as_json)


def _level(text: str) -> tuple[str, int]:
    skill, _, level = text.partition("=")
    try:
        return skill, int(level)
    except ValueError:
        raise ConfigError(f"--skill {text!r}: write it as SKILL=LEVEL, e.g. french=3") from None


@comm.command("queue-add")
@click.argument("name")
@click.option("--strategy", default="longest_idle", show_default=True, help="Routing strategy.")
@click.option("--channel", default="voice", show_default=True)
@click.option("--skill", "skills", multiple=True, help="Required SKILL=LEVEL; repeatable.")
@click.option("--priority", type=int, default=0, show_default=True)
@click.option("--sl-target", type=float, default=20.0, show_default=True, help="Seconds.")
@click.option("--max-wait", type=float, default=0.0, help="Seconds before overflow (0: none).")
@click.option("--max-length", type=int, default=0, help="Waiting interactions before overflow (0: none).")
@click.option("--overflow", default=None, help="'voicemail' or another queue.")
@click.option("--offer-timeout", type=float, default=20.0, show_default=True)
@click.option("--wrap-up", type=float, default=0.0, show_default=True)
@click.option("--max-no-answer", type=int, default=3, show_default=True)
@click.option("--disposition", "dispositions", multiple=True,
              help="A disposition the agent's desk offers; repeatable (none: the desk's own).")
def queue_add(name: str, skills: tuple[str, ...], dispositions: tuple[str, ...], **settings: object) -> None:
    """Define queue NAME on the running server."""
    _server().add_queue(dict(settings, name=name, skills=dict(_level(s) for s in skills),
                             dispositions=list(dispositions)))
    click.echo(f"queue {name} added")


@comm.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agents(as_json: bool) -> None:
    """Agents with their status and state."""
    _show(_server().agents(), ("id", "status", "reason", "state", "calls"), as_json)


@comm.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ivrs(as_json: bool) -> None:
    """IVR menus: the script, the entry numbers it answers and where its outcomes lead."""
    rows = [dict(m, numbers=" ".join(m["numbers"]) or "(every other)",
                 routes=" ".join(f"{o}={t}" for o, t in sorted(m["routes"].items())))
            for m in _server().ivrs()]
    _show(rows, ("script", "numbers", "default", "routes"), as_json)


@comm.command()
@click.argument("queue")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def waiting(queue: str, as_json: bool) -> None:
    """Interactions waiting in QUEUE, in routing order."""
    _show(_server().waiting(queue), ("id", "channel", "customer", "priority", "entered"), as_json)


@comm.command()
@click.argument("agent")
@click.argument("status", type=click.Choice(["available", "break", "logged_out"]))
@click.option("--reason", default="supervisor", show_default=True, help="Reason of a break.")
def status(agent: str, status: str, reason: str) -> None:
    """Set AGENT's status (a supervisor's override)."""
    server = _server()
    if status == "logged_out":
        server.logout(agent)
    else:
        server.set_status(agent, status, reason if status == "break" else "")
    click.echo(f"{agent}: {status}")


@comm.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def campaigns(as_json: bool) -> None:
    """Campaigns with their state and figures."""
    _show(_server().campaigns(), ("name", "queue", "pacing", "state", "dialed", "answered", "abandoned",
                                  "connect_within", "auto_accept"), as_json)


def _retry(text: str) -> tuple[str, list[float]]:
    disposition, _, rule = text.partition("=")
    attempts, _, after = rule.partition("/")
    try:
        return disposition, [int(attempts), float(after)]
    except ValueError:
        raise ConfigError(f"--retry {text!r}: write it as DISPOSITION=ATTEMPTS/SECONDS, "
                          "e.g. no_answer=3/3600") from None


def _setting(text: str) -> tuple[str, int | float | str]:
    """A dialer setting: a number if it reads as one, else text."""
    name, equals, value = text.partition("=")
    if not name or not equals:
        raise ConfigError(f"--dialer {text!r}: write it as NAME=VALUE, e.g. ring=12 or use=sim")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


@comm.command("campaign-add")
@click.argument("name")
@click.option("--queue", required=True, help="Queue whose agents take the answered calls.")
@click.option("--list", "call_list", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Call list: CSV with the columns number, customer.")
@click.option("--pacing", type=click.Choice(["preview", "progressive", "predictive"]),
              default="progressive", show_default=True)
@click.option("--window", "windows", multiple=True, help="Calling window HH:MM-HH:MM (UTC); repeatable.")
@click.option("--retry", "retries", multiple=True, help="DISPOSITION=ATTEMPTS/SECONDS; repeatable.")
@click.option("--abandon-cap", type=Finite(0, 1), default=0.03, show_default=True)
@click.option("--connect-within", type=Finite(*CONNECT_WITHIN), default=2.0, show_default=True,
              help="Seconds an answered call waits to be connected to an agent before it is dropped.")
@click.option("--auto-accept", is_flag=True,
              help="Connect an answered call to the agent it is offered to at once (progressive, predictive).")
@click.option("--dialer", "dialer", multiple=True,
              help="Dialer setting NAME=VALUE; use=NAME picks the dialer (default: the server's); the "
                   "simulated one, sim, takes answer_rate, busy_rate, ring, busy_after, no_answer_after, "
                   "seed; repeatable.")
def campaign_add(name: str, queue: str, call_list: str, pacing: str, windows: tuple[str, ...],
                 retries: tuple[str, ...], abandon_cap: float, connect_within: float, auto_accept: bool,
                 dialer: tuple[str, ...]) -> None:
    """Create campaign NAME (state draft) from a CSV call list."""
    with open(call_list, encoding="utf-8") as file:
        text = file.read()
    summary = _server().add_campaign(name, queue, text, pacing=pacing, windows=list(windows) or None,
                                     retries=dict(_retry(r) for r in retries), abandon_cap=abandon_cap,
                                     connect_within=connect_within, auto_accept=auto_accept,
                                     dialer=dict(_setting(d) for d in dialer), source=call_list)
    click.echo(f"{summary['name']}: {summary['state']}, {sum(summary['contacts'].values())} contacts")


@comm.command()
@click.argument("name")
@click.argument("action", type=click.Choice(["start", "pause", "resume", "finish", "show"]))
def campaign(name: str, action: str) -> None:
    """Start, pause, resume, finish or show campaign NAME."""
    summary = _server().campaign(name, None if action == "show" else action)
    click.echo(json.dumps(summary, sort_keys=True))


@comm.command()
@click.argument("numbers", nargs=-1, required=True)
def dnc(numbers: tuple[str, ...]) -> None:
    """Add NUMBERS to the do-not-call list of every campaign."""
    click.echo(f"do-not-call list: {_server().add_dnc(list(numbers))} numbers")
