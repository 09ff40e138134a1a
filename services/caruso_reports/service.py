"""The reports service ``caruso.reports/1``: computes report definitions over the
deployment's event log for clients (``caruso report`` without ``--db``, the front office)
and e-mails the definitions that ask for it every day (:mod:`caruso_reports.mailing`).

Configuration: ``db`` (SQLAlchemy URL of the event log; default ``comm.db`` in the data
folder, where the communication server writes it); ``definitions`` (a folder or a list of
folders of definition files, a later one replacing an earlier one's file of the same
name; verticals add theirs); for daily mail (definitions with a ``[mail]`` table): the relay
(``smtp_host``, default 127.0.0.1, ``smtp_port``, default 25, ``smtp_security``, ``smtp_username``,
``smtp_password_file``, ``smtp_ca_file``, ``smtp_timeout``, ``smtp_deadline``: :mod:`caruso_core.smtp`),
``mail_from``, ``mail_check`` (seconds
between checks, default 60), ``sent_file`` (what was sent, JSON; default
``reports-mailed.json`` in the data folder).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from caruso_core import plugins, privatefiles, remote, service, zones
from caruso_core.deployment import data_dir, default_sqlite_url
from caruso_core.errors import CarusoError, ConfigError, InvalidInput, NotFound, Unavailable
from caruso_core.smtp import Relay

from caruso_reports import customers, definition, engine, mailing, objects
from caruso_reports.eventlog import open_engine
from caruso_reports.report import Report

EVENT_LOG = "comm.db"
SENT_FILE = "reports-mailed.json"
log = logging.getLogger(__name__)


@service(name="reports", interface="caruso.reports/1", version="1.0.0", autostart=True)
class ReportService:
    """Reports over the event log at ``db``; daily mail of the definitions in ``definitions``;
    a definition that names no time zone is in ``timezone`` (default UTC, a deployment's)."""

    def __init__(self, db: str | None = None, definitions: str | list[str] | None = None,
                 smtp_host: str | None = None, smtp_port: int | None = None, smtp_security: str | None = None,
                 smtp_username: str | None = None, smtp_password_file: str | None = None,
                 smtp_ca_file: str | None = None, smtp_timeout: float | None = None, smtp_deadline: float | None = None,
                 mail_from: str = "reports@localhost",
                 mail_check: float = 60.0, sent_file: str | None = None, timezone: str = "UTC",
                 context: Any = None) -> None:
        zones.zone(timezone, "reports timezone")
        self.context = context
        self.timezone = timezone
        self.url = db or default_sqlite_url(EVENT_LOG)
        given = {"smtp_host": smtp_host, "smtp_port": smtp_port, "smtp_security": smtp_security,
                 "smtp_username": smtp_username, "smtp_password_file": smtp_password_file, "smtp_ca_file": smtp_ca_file,
                 "smtp_timeout": smtp_timeout, "smtp_deadline": smtp_deadline}
        self.relay = Relay.of({key: value for key, value in given.items() if value is not None}, where="reports")
        self.mail_from = mail_from
        self.mail_check = float(mail_check)
        self.known = self._definitions([definitions] if isinstance(definitions, str) else definitions or [], timezone)
        self.mailed = [d for d in self.known.values() if d.mail_to]
        renderers = plugins.provided("caruso_report_renderers")
        for mailed in self.mailed:
            if mailed.mail_format not in renderers:
                raise ConfigError(f"report {mailed.name}: mail.format {mailed.mail_format!r} is not a "
                                  f"renderer; available: {', '.join(sorted(renderers))}")
        self.sent_file = Path(sent_file) if sent_file else data_dir() / SENT_FILE
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._mail_daily, name="reports-mail", daemon=True)

    @staticmethod
    def _definitions(folders: list[str], timezone: str) -> dict[str, definition.Definition]:
        for folder in folders:
            if not Path(folder).is_dir():
                raise ConfigError(f"definitions {folder!r} is not a folder")
        return {name: definition.load(str(path), timezone=timezone)
                for name, path in definition.catalogue(folders).items()}

    def start(self) -> None:
        if self.mailed:
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        if self._engine is not None:
            self._engine.dispose()

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "event_log": self.url, "open": self._engine is not None,
                "mailed": [d.name for d in self.mailed]}

    @remote
    def definitions(self) -> list[dict[str, Any]]:
        """The definitions this service knows (built-in and configured), by name: ``name``,
        ``title``, ``description``, ``measures``, ``dimensions``, ``period``, ``timezone``,
        ``object``; a report over business objects the storage's model lacks is left out."""
        present = self._objects_present()
        return [{"name": d.name, "title": d.title, "description": d.description, "object": d.object,
                 "measures": list(d.measures), "dimensions": list(d.dimensions), "period": d.period,
                 "timezone": d.timezone} for _, d in sorted(self.known.items())
                if d.object is None or present is None or d.object in present]

    def _objects_present(self) -> set[str] | None:
        """The objects of the storage's model; None when unknown (no storage reached)."""
        if self.context is None or not any(d.object for d in self.known.values()):
            return None
        try:
            return set(self.context.client.service("caruso.storage/1").describe()["objects"])
        except CarusoError:
            return None

    @remote
    def report(self, name: str, start: float | None = None, end: float | None = None,
               period: str | None = None, filters: dict[str, list[str]] | None = None,
               timezone: str | None = None) -> dict[str, Any]:
        """The report of the known definition ``name`` (see :meth:`definitions`), with the range
        (Unix seconds), period, filters and time zone given replacing its own."""
        return self._known(name, start, end, period, filters, timezone).to_dict()

    @remote
    def render(self, name: str, format: str = "png", start: float | None = None, end: float | None = None,
               period: str | None = None, filters: dict[str, list[str]] | None = None,
               timezone: str | None = None) -> bytes:
        """The report of the known definition ``name`` as :meth:`report` computes it, rendered
        by the renderer ``format`` (``png``, ``pdf``, ``html``, ``csv``, ``table`` or a plugin's)."""
        renderers = plugins.provided("caruso_report_renderers")
        if format not in renderers:
            raise InvalidInput(f"no renderer {format!r}; available: {', '.join(sorted(renderers))}")
        return renderers[format](self._known(name, start, end, period, filters, timezone))

    def _known(self, name: str, *options: Any) -> Report:
        if name not in self.known:
            raise NotFound(f"no report definition {name!r}; known: {', '.join(sorted(self.known))}")
        return self._compute(self.known[name], *options)

    @remote
    def run(self, text: str, name: str, start: float | None = None, end: float | None = None,
            period: str | None = None, filters: dict[str, list[str]] | None = None,
            timezone: str | None = None) -> dict[str, Any]:
        """The report of the definition ``text`` (TOML, docs/report-format.md) named ``name``,
        with the range (Unix seconds), period, filters and time zone given replacing its own;
        plain data of :class:`~caruso_reports.report.Report`. Bad definitions raise ConfigError."""
        return self._compute(definition.from_toml(text, name, f"report {name!r}", self.timezone),
                             start, end, period, filters, timezone).to_dict()

    def _compute(self, loaded: definition.Definition, start: float | None, end: float | None,
                 period: str | None, filters: dict[str, list[str]] | None,
                 timezone: str | None) -> Report:
        checked = loaded.override(start=start, end=end, period=period, timezone=timezone,
                                  filters={key: tuple(values) for key, values in (filters or {}).items()},
                                  where=f"report {loaded.name!r}")
        return self._report(checked)

    def _report(self, checked: definition.Definition, now: float | None = None) -> Report:
        """``checked`` computed over the event log as it stands at ``now`` (default: now), or over
        the storage for an object report."""
        if checked.object is not None:
            if self.context is None:
                raise ConfigError(f"report {checked.name!r} counts {checked.object} objects: "
                                  "it runs in the reports service, which reaches the storage")
            return objects.compute(self.context.client.service("caruso.storage/1"), checked)
        return engine.compute(self._event_log(), checked, self._customers(checked), now)

    @remote
    def send_due(self, now: float | None = None) -> list[str]:
        """E-mail every report due at ``now`` (default: now) that was not sent yet; what was
        sent, as ``NAME DAY``. Unavailable, in one line naming the relay, when the relay cannot
        be reached or refuses (the reports sent before it stay sent)."""
        moment = time.time() if now is None else float(now)
        with self._lock:
            sent = json.loads(self.sent_file.read_text()) if self.sent_file.exists() else {}
        renderers = plugins.provided("caruso_report_renderers")
        done = []
        for mailed in self.mailed:
            day = mailing.due(mailed, sent.get(mailed.name), moment)
            if day is None:
                continue
            of_day = mailing.of_day(mailed, day)
            report = self._report(of_day, moment)
            content = renderers[mailed.mail_format](report)
            self.relay.send(mailing.message(mailed, day, content, self.mail_from),
                            f"report {mailed.name} {day.isoformat()}")
            sent[mailed.name] = day.isoformat()
            with self._lock:
                privatefiles.write_file(self.sent_file, json.dumps(sent, indent=1, sort_keys=True).encode())
            done.append(f"{mailed.name} {day.isoformat()}")
        return done

    def _mail_daily(self) -> None:
        while not self._stopping.wait(self.mail_check):
            try:
                self.send_due()
            except Unavailable as error:        # the relay: said in one line, tried again
                log.warning("%s; retrying in %g s", error, self.mail_check)
            except Exception:  # nothing must end the service; it retries
                log.exception("sending the daily reports failed; retrying in %g s", self.mail_check)

    def _customers(self, checked: definition.Definition) -> customers.Shown | None:
        """The customers' attributes of the storage service, when ``checked`` groups by one."""
        if self.context is None or not any(customers.attribute(d) for d in checked.dimensions):
            return None
        return customers.from_storage(self.context.client.service("caruso.storage/1"))

    def _event_log(self) -> sa.Engine:
        with self._lock:
            if self._engine is None:
                self._engine = open_engine(self.url)
            return self._engine
