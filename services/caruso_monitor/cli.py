"""``caruso monitor``: the live wallboard in the terminal.

With ``--db URL`` the picture is rebuilt from that event log and followed by polling it;
without, it comes from the running ``caruso.monitor/1`` service by long-polling.
``--once`` prints one plain frame and exits (for scripts and tests).
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import Any, Callable

import click

from caruso_core import connect
from caruso_core.cli import Finite, manager_option
from caruso_core.errors import ConfigError

from caruso_monitor import wallboard
from caruso_monitor.feed import Feed
from caruso_monitor.picture import SL_TARGET, Picture


def _from_log(url: str, sl_target: float) -> Callable[[], dict[str, Any]]:
    feed = Feed(url)
    if not feed.ready():
        raise ConfigError(f"--db {url}: no event log there (table comm_events); give the database "
                          "the communication server or caruso simulate --db writes")
    picture = Picture(default_target=sl_target)

    def current() -> dict[str, Any]:
        feed.catch_up(picture)
        return picture.snapshot(max(time.time(), picture.last_time))

    return current


def _from_service(interval: float, manager_uri: str | None) -> Callable[[], dict[str, Any]]:
    monitor = connect(manager_uri).get("caruso.monitor/1")
    version = -1

    def current() -> dict[str, Any]:
        nonlocal version
        picture = monitor.updates(version, interval)
        version = picture["version"]
        return picture

    return current


@click.command()
@click.option("--db", help="Follow this event-log database instead of the running monitor service.")
@click.option("--once", is_flag=True, help="Print one frame and exit.")
@click.option("--interval", type=Finite(min=0.1), default=1.0, show_default=True,
              help="Seconds between redraws when nothing changes.")
@click.option("--sl-target", type=Finite(min=0), default=SL_TARGET, show_default=True,
              help="Service-level target in seconds (with --db).")
@manager_option
def monitor(db: str | None, once: bool, interval: float, sl_target: float, manager_uri: str | None) -> None:
    """Show agents, waiting interactions, service level and campaigns, live (redrawn in a
    terminal; piped, each new frame printed after the last, without terminal codes)."""
    current = _from_log(db, sl_target) if db else _from_service(interval, manager_uri)
    if once:
        click.echo("\n".join(wallboard.frame(current())))
        return
    if not sys.stdout.isatty():          # piped: frames one after another, no terminal codes
        try:
            while True:
                click.echo("\n".join(wallboard.frame(current())) + "\n")
                if db:
                    time.sleep(interval)
        except (KeyboardInterrupt, BrokenPipeError):
            return
    out = sys.stdout
    out.write(wallboard.HIDE_CURSOR + wallboard.CLEAR_SCREEN)
    try:
        while True:
            size = shutil.get_terminal_size()
            wallboard.draw(wallboard.frame(current()), out, size.columns, size.lines)
            if db:
                time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        out.write(wallboard.SHOW_CURSOR + "\n")
        out.flush()
