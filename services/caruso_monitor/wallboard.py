"""The terminal wallboard: a picture drawn as lines of text, redrawn in place.

Redrawing moves the cursor home and overwrites each line, clearing only what is left
of the old one (ANSI ``ESC[H``, ``ESC[K``, ``ESC[J``), so the screen never blanks: no
flicker, and it works in any ANSI terminal, over ssh too.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, TextIO

HOME, CLEAR_LINE, CLEAR_BELOW, CLEAR_SCREEN = "\x1b[H", "\x1b[K", "\x1b[J", "\x1b[2J"
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
MAX_AGENTS = 40
MAX_WAITING = 15


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def frame(picture: dict[str, Any]) -> list[str]:
    """The lines of one frame of ``picture`` (a snapshot of :class:`~caruso_monitor.picture.Picture`)."""
    moment = dt.datetime.fromtimestamp(picture["time"], dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    counts = picture["agent_counts"]
    lines = [f"caruso monitor  {moment}",
             "agents: " + "  ".join(f"{key} {counts.get(key, 0)}" for key in
                                    ("logged_in", "available", "break", "idle", "offered", "busy", "wrap_up")),
             "", f"{'queue':<16}{'waiting':>8}{'longest':>9}{'talking':>8}{'answered':>9}{'abandoned':>10}{'SL 30m':>8}"]
    for queue in picture["queues"]:
        lines.append(f"{queue['queue'][:15]:<16}{queue['waiting']:>8}{_duration(queue['longest_wait']):>9}"
                     f"{queue['connected']:>8}{queue['answered']:>9}{queue['abandoned']:>10}"
                     f"{_percent(queue['service_level']):>8}")
    if picture["waiting"]:
        lines += ["", f"{'waiting':<24}{'queue':<16}{'state':<9}{'wait':>8}"]
        for waiting in picture["waiting"][:MAX_WAITING]:
            lines.append(f"{waiting['id'][:23]:<24}{waiting['queue'][:15]:<16}{waiting['state']:<9}"
                         f"{_duration(waiting['wait']):>8}")
        if len(picture["waiting"]) > MAX_WAITING:
            lines.append(f"... and {len(picture['waiting']) - MAX_WAITING} more")
    lines += ["", f"{'agent':<16}{'status':<11}{'state':<9}{'in state':>9}  reason"]
    for agent in picture["agents"][:MAX_AGENTS]:
        lines.append(f"{agent['id'][:15]:<16}{agent['status']:<11}{agent['state']:<9}"
                     f"{_duration(agent['seconds_in_state']):>9}  {agent['reason']}".rstrip())
    if len(picture["agents"]) > MAX_AGENTS:
        lines.append(f"... and {len(picture['agents']) - MAX_AGENTS} more")
    if picture["campaigns"]:
        lines += ["", f"{'campaign':<16}{'state':<9}{'progress':>9}{'dialed':>8}{'answered':>9}"
                      f"{'connected':>10}{'abandon':>8}"]
        for campaign in picture["campaigns"]:
            lines.append(f"{campaign['name'][:15]:<16}{campaign['state']:<9}{_percent(campaign['progress']):>9}"
                         f"{campaign['dialed']:>8}{campaign['answered']:>9}{campaign['connected']:>10}"
                         f"{_percent(campaign['abandon_rate']):>8}")
    return lines


def draw(lines: list[str], out: TextIO, columns: int = 80, rows: int = 24) -> None:
    """Overwrite a screen of ``columns`` x ``rows`` with ``lines`` in place, cut to fit (a
    wrapped or scrolled line would move everything below it)."""
    shown = [line[:columns] for line in lines[:max(1, rows - 1)]]
    out.write(HOME + "".join(line + CLEAR_LINE + "\n" for line in shown) + CLEAR_BELOW)
    out.flush()
