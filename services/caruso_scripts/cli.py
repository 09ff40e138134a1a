"""``caruso script``: validate, lint, graph, test, create and run dialog scripts; serve self-service;
show the engine's e-mail outbox.

Each command exits 0 when all is well; a problem prints ``error: <one line>`` (after
the problem lines for validate, lint and test) and exits 1.
"""
from __future__ import annotations

import contextlib
import datetime
import re
from importlib import resources
from pathlib import Path
from typing import Any

import click

from caruso_core import connect, plugins
from caruso_core.cli import manager_option, parse_pairs
from caruso_core.deployment import read_toml
from caruso_core.errors import ConfigError
from caruso_scripts import graph, loader, scripttest
from caruso_scripts.engine import STORAGE, Engine
from caruso_scripts.lint import lint as lint_script
from caruso_scripts.memory_storage import MemoryStorage
from caruso_scripts.modelcheck import field_problems
from caruso_scripts.terminal import TerminalRunner, send_mail, terminal_mailer, terminal_outbox

FILES = click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))


def installed_actions() -> dict[str, Any]:
    return plugins.provided("caruso_script_actions")


def _report(lines: list[str], what: str, files: int) -> None:
    for line in lines:
        click.echo(line)
    if lines:
        raise ConfigError(f"{len(lines)} {what} in {files} file(s)")


@click.group()
def script() -> None:
    """Dialog scripts: validate, lint, graph, test, new, run, web self-service, and the e-mail outbox."""


@script.command()
@FILES
@click.option("--storage", "check_storage", is_flag=True,
              help="Also check field references against the model of the running storage service.")
def validate(files: tuple[str, ...], check_storage: bool) -> None:
    """Check scripts: schema, expressions, transitions, actions, sub-scripts (and model fields)."""
    actions = set(installed_actions())
    found: list[str] = []
    describe = connect().get(STORAGE).describe if check_storage else None
    for file in files:
        problems = loader.problems(file, actions)
        if not problems and describe is not None:
            problems = field_problems(loader.load(file, actions), describe)
        found += problems
        if not problems:
            click.echo(f"{file}: valid")
    _report(found, "problem(s)", len(files))


@script.command()
@FILES
def lint(files: tuple[str, ...]) -> None:
    """Find unreachable steps, dead ends, unused questions and variables."""
    found: list[str] = []
    for file in files:
        findings = lint_script(loader.load(file, set(installed_actions())))
        found += findings
        if not findings:
            click.echo(f"{file}: clean")
    _report(found, "finding(s)", len(files))


@script.command(name="graph")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "form", type=click.Choice(["dot", "svg"]), default="dot", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of to stdout.")
def graph_command(file: str, form: str, output: str | None) -> None:
    """Draw the script's steps and transitions (Graphviz DOT, or SVG through 'dot')."""
    loaded = loader.load(file)
    text = graph.to_dot(loaded) if form == "dot" else graph.to_svg(loaded)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@script.command(name="test")
@FILES
def test_command(files: tuple[str, ...]) -> None:
    """Run the answer paths of script test files (TOML) and compare outcomes, variables, actions."""
    failed = total = 0
    for file in files:
        for result in scripttest.run_file(file):
            total += 1
            if result.passed:
                click.echo(f"PASS {file}: {result.name}")
            else:
                failed += 1
                click.echo(f"FAIL {file}: {result.name}")
                for problem in result.problems:
                    click.echo(f"     {problem}")
    if failed:
        raise ConfigError(f"{failed} of {total} script test case(s) failed")
    click.echo(f"{total} case(s) passed")


@script.command()
@click.argument("script_id")
@click.option("--title", default=None, help="Title shown to agents (default: the id).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: ID.xml).")
def new(script_id: str, title: str | None, output: str | None) -> None:
    """Write a new script from the template, ready to edit."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", script_id):
        raise ConfigError(f"script id {script_id!r} is invalid: start with a letter, then letters, digits, '_'")
    target = Path(output or f"{script_id}.xml")
    if target.exists():
        raise ConfigError(f"{target} exists already; choose another file with -o")
    template = resources.files("caruso_scripts").joinpath("templates/new.xml").read_text(encoding="utf-8")
    safe_title = (title or script_id).replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    target.write_text(template.replace("SCRIPT_ID", script_id).replace("SCRIPT_TITLE", safe_title),
                      encoding="utf-8")
    click.echo(f"wrote {target}; check it with: caruso script validate {target}")


@script.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-c", "--context", "pairs", multiple=True, metavar="KEY=VALUE",
              help="Context of the session, e.g. -c customer_id=1 (repeatable).")
@click.option("--data", type=click.Path(dir_okay=False),
              help="TOML file with [storage.OBJECT] records to bind instead of the storage service.")
@click.option("--dry-run", is_flag=True, help="Show actions instead of running them.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="The date today() returns.")
@click.option("--locale", default="en", show_default=True,
              help="How numbers are written in a script without its own locale (e.g. de: 1.250,5).")
@click.option("-s", "--setting", "setting_pairs", multiple=True, metavar="KEY=VALUE",
              help="A setting of actions and the mail sender, e.g. -s smtp_port=2525 (repeatable).")
@click.option("--outbox", "outbox_url", metavar="URL",
              help="Database (SQLAlchemy URL) of the e-mail outbox, where mail not sent stays queued "
                   "(default: a temporary one).")
@manager_option
def run(file: str, pairs: tuple[str, ...], data: str | None, dry_run: bool, today: datetime.datetime | None,
        locale: str, setting_pairs: tuple[str, ...], outbox_url: str | None, manager_uri: str | None) -> None:
    """Run a script in the terminal; type answers, ':back' to go back, ':quit' to stop. E-mail the
    dialog queued is sent when it ends, a line for each message."""
    if dry_run and outbox_url:
        raise ConfigError("--outbox: a dry run queues no mail")
    loaded = loader.load(file)
    memory = MemoryStorage(read_toml(Path(data)).get("storage", {})) if data else None
    client = None if memory is not None and dry_run else connect(manager_uri)

    def service(key: str) -> Any:
        if key == STORAGE and memory is not None:
            return memory
        if client is None:
            raise ConfigError(f"no service {key} in a dry run with --data")
        return client.get(key)

    actions = scripttest.dry_actions(loaded) if dry_run else installed_actions()
    day = today.date() if today else None
    settings = parse_pairs(setting_pairs, "setting")
    with contextlib.ExitStack() as stack:
        outbox = None if dry_run else stack.enter_context(terminal_outbox(outbox_url))
        mailer = None if outbox is None else terminal_mailer(outbox, settings)
        engine = Engine({loaded.id: loaded}, actions=actions, service=service, settings=settings,
                        today=(lambda: day) if day else datetime.date.today, locale=locale, outbox=outbox)
        runner = TerminalRunner(engine, ask=lambda text: click.prompt(text, default="", show_default=False,
                                                                       prompt_suffix=""), say=click.echo)
        runner.run(engine.start(loaded.id, parse_pairs(pairs, "context")))
        if mailer is not None:
            kept = None if outbox_url is None else outbox.engine.url.render_as_string(hide_password=True)
            send_mail(mailer, click.echo, kept)


@script.command()
@click.option("--publish", "published", multiple=True, required=True, metavar="SCRIPT_ID",
              help="A script customers may run (repeatable); nothing else is served.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8470, show_default=True)
@click.option("--title", default="Self-service", show_default=True, help="Title of the start page.")
@click.option("--starts-per-minute", type=click.IntRange(1, 100_000), default=30, show_default=True,
              help="New dialogs one client address may start a minute.")
def web(published: tuple[str, ...], host: str, port: int, title: str, starts_per_minute: int) -> None:
    """Serve published scripts as web self-service pages (engine reached through the manager)."""
    import uvicorn

    from caruso_scripts.web import create_app
    engine = connect().get("caruso.scripts/1")
    known = {s["id"] for s in engine.scripts()}
    missing = sorted(set(published) - known)
    if missing:
        raise ConfigError(f"the script engine publishes no {', '.join(missing)} (it has: {', '.join(sorted(known))})")
    click.echo(f"self-service at http://{host}:{port}/ for {', '.join(published)}")
    uvicorn.run(create_app(engine, published=published, title=title, starts_per_minute=starts_per_minute),
                host=host, port=port, log_level="warning")


@script.command()
@click.option("--limit", type=click.IntRange(0, 1000), default=20, show_default=True,
              help="Messages in trouble to list, newest first.")
@click.option("--retry", type=click.IntRange(1), metavar="ID",
              help="Send the failed message ID again (queued now, its attempts counted anew).")
@manager_option
def outbox(limit: int, retry: int | None, manager_uri: str | None) -> None:
    """The script engine's e-mail outbox: counts, then the messages failed or failing, with their last error;
    or, with --retry, a failed message sent again."""
    engine = connect(manager_uri).get("caruso.scripts/1")
    if retry is not None:
        row = engine.retry_mail(retry)
        click.echo(f"{row['id']} queued again to {row['to']} {row['subject']!r} (last error: {row['last_error']})")
        return
    shown = engine.mail_outbox(limit)
    click.echo(f"queued {shown['queued']}, sent {shown['sent']}, failed {shown['failed']}")
    for row in shown["failing"]:
        retry = f", next try {row['next_try']}" if row["state"] == "queued" else ""
        click.echo(f"{row['id']} {row['state']} to {row['to']} {row['subject']!r}: {row['attempts']} attempt(s), "
                   f"last {row['tried_at']}{retry}: {row['last_error']}")
