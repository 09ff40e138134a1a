"""Reports e-mailed daily: a definition with a ``[mail]`` table is sent every day at
``mail.at`` (in its time zone) with the previous day's figures, rendered as ``mail.format``,
to ``mail.to``.

:func:`due` says which day's report is due; :func:`message` builds the e-mail. The
reports service sends them (:meth:`caruso_reports.service.ReportService.send_due`).
"""
from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import attrs

from caruso_core.zones import zone

from caruso_reports.definition import Definition

MIME = {"html": ("text", "html"), "csv": ("text", "csv"), "spreadsheet": ("text", "csv"), "table": ("text", "plain"),
        "png": ("image", "png"), "png-narrow": ("image", "png"), "pdf": ("application", "pdf")}
SUFFIX = {"spreadsheet": "csv", "table": "txt", "png-narrow": "png"}     # a renderer's file, where not its name


def due(definition: Definition, last_sent: str | None, now: float) -> dt.date | None:
    """The day whose report is due at ``now``: yesterday in the definition's zone once today's
    ``mail.at`` has passed, unless the report of that day was sent (``last_sent``, ISO date)."""
    if not definition.mail_to:
        return None
    local = dt.datetime.fromtimestamp(now, zone(definition.timezone, definition.name))
    if local.strftime("%H:%M") < definition.mail_at:
        return None
    day = local.date() - dt.timedelta(days=1)
    return None if last_sent == day.isoformat() else day


def of_day(definition: Definition, day: dt.date) -> Definition:
    """``definition`` over ``day`` (midnight to midnight in its zone)."""
    tz = zone(definition.timezone, definition.name)
    start = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    following = day + dt.timedelta(days=1)
    end = dt.datetime(following.year, following.month, following.day, tzinfo=tz)
    return attrs.evolve(definition, start=start.timestamp(), end=end.timestamp())


def message(definition: Definition, day: dt.date, content: bytes, sender: str) -> EmailMessage:
    """The e-mail of ``definition``'s report of ``day``, rendered as ``content``."""
    mail = EmailMessage()
    mail["Subject"] = f"{definition.title}, {day.isoformat()}"
    mail["From"] = sender
    mail["To"] = ", ".join(definition.mail_to)
    mail.set_content(f"{definition.title} for {day.isoformat()} ({definition.timezone}) is attached.\n")
    kind, subtype = MIME.get(definition.mail_format, ("application", "octet-stream"))
    mail.add_attachment(content, maintype=kind, subtype=subtype,
                        filename=f"{definition.name}-{day.isoformat()}.{SUFFIX.get(definition.mail_format, definition.mail_format)}")
    return mail
