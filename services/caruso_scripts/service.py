"""The script engine service, interface ``caruso.scripts/1``.

Configuration (deployment ``config``):

``scripts``   files or folders of scripts (every ``*.xml`` of a folder), in order: a
              later one replaces an earlier script with the same id; default the
              folder ``scripts`` in the data folder
``db``        SQLAlchemy URL of the sessions; default ``scripts.db`` in the data folder
``settings``  settings for actions and the mail sender, e.g. ``{smtp_host = "mail",
              smtp_port = 25, smtp_timeout = 10, mail_from = "service@example.org"}``
``outbox``    how queued e-mail is retried (:class:`~caruso_scripts.mailer.MailRetries`:
              ``attempts``, ``backoff``, ``backoff_max``, ``give_up_days``, ``lease``,
              ``keep_days``)
``keep_days`` sessions not changed for this many days are deleted when the engine
              starts (default 90)
``locale``    how people write numbers in scripts without their own ``locale``
              (default ``en``: ``1,250.5``; ``de``: ``1.250,5``)
``timezone``  the business's time zone (an IANA name; default UTC, a deployment's
              ``timezone``), whose date ``today()`` is; ``now()`` is UTC, as stored

Bindings and dialog actions reach other services through the client of the host's
``context`` (:class:`caruso_core.HostContext`); an instance made outside a host uses
``HostContext.standalone("scripts")``.

Methods (all return plain data, the wire form of the types of the interface's SDK,
:mod:`caruso_scripts.client`; a session is shown as a ``DialogView``):
``scripts()``, ``begin(script, context=None)``, ``current(session)``,
``answer(session, answer, seq=None)``, ``back(session)``,
``finish(session, outcome="abandoned")``, ``sessions(status="active", limit=100)``,
``mail_outbox(limit=20)`` (the e-mail outbox: counts and the messages in trouble),
``retry_mail(id)`` (a failed message queued again);
the IVR runner over the wire: ``ivr_begin(script, context=None)`` and
``ivr_press(session, keys)`` return turns ``{session, prompt, done, outcome}``.
Every change of a session is saved before the call returns, so sessions survive a
restart; ``export_state``/``import_state`` move them in a hot-swap. A retried
``answer`` with the same ``seq`` is recognized: nothing runs twice.

E-mail of dialog actions goes to an outbox in the sessions' database
(:mod:`caruso_scripts.outbox`), which the instance's sender (:mod:`caruso_scripts.mailer`,
started and stopped with the instance) delivers over SMTP in the background: a mail
server that is down delays the mail, never the dialog. Queued mail stays in the
database, so an instance started later on it sends what an earlier one queued.
"""
from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable

import attrs

from caruso_core import HostContext, plugins, remote, service, zones
from caruso_core.deployment import data_dir
from caruso_core.errors import ConfigError, InvalidInput
from caruso_core.retrying import MAX_DAYS, within_days
from caruso_scripts import loader
from caruso_scripts.client import ScriptInfo, SessionSummary
from caruso_scripts.engine import Engine, Session
from caruso_scripts.ivr import IvrRunner
from caruso_scripts.mailer import Mailer, MailRetries
from caruso_scripts.model import Script
from caruso_scripts.outbox import MailOutbox, moment
from caruso_scripts.store import SessionStore

LOCKS = 64
CACHED = 10_000


def load_library(sources: Iterable[str | Path], actions: Iterable[str]) -> dict[str, Script]:
    """Scripts by id from files and folders, in order: a later source replaces a script of an
    earlier one with the same id (a vertical extension overriding one script); two scripts
    with one id in the same source are a ConfigError."""
    library: dict[str, Script] = {}
    action_names = set(actions)
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise ConfigError(f"scripts: {path} does not exist (give script files or folders)")
        files = sorted(path.glob("*.xml")) if path.is_dir() else [path]
        here: dict[str, Script] = {}
        for file in files:
            script = loader.load(file, action_names)
            if script.id in here:
                raise ConfigError(f"{file}: script id '{script.id}' is used by {here[script.id].source} too")
            here[script.id] = script
        library.update(here)
    return library


@service(name="scripts", interface="caruso.scripts/1", version="1.0.0", autostart=True)
class ScriptService:
    """Runs dialog scripts for agents, web self-service and IVR; see the module's contract."""

    def __init__(self, scripts: str | list[str] | None = None, db: str | None = None,
                 settings: dict[str, Any] | None = None, keep_days: float = 90, locale: str = "en",
                 outbox: dict[str, Any] | None = None, timezone: str = "UTC",
                 context: HostContext | None = None) -> None:
        zone = zones.zone(timezone, "scripts timezone")
        if not within_days(keep_days):
            raise ConfigError(f"scripts keep_days is a number of days above 0 and at most {MAX_DAYS}, not "
                              f"{keep_days!r} (sessions not changed for that long are deleted at each start)")
        if scripts is None:
            folder = data_dir() / "scripts"
            folder.mkdir(exist_ok=True)
            scripts = [str(folder)]
        sources = [scripts] if isinstance(scripts, str) else list(scripts)
        actions = plugins.provided("caruso_script_actions")
        self.library = load_library(sources, actions)
        retries = MailRetries.of(outbox)
        self.store = SessionStore(db)
        self.outbox = MailOutbox(self.store.engine, queued=lambda: self.mailer.wake())
        self.mailer = Mailer(self.outbox, settings or {}, retries)
        client = (context or HostContext.standalone("scripts")).client
        self.engine = Engine(self.library, actions=actions, service=client.service, settings=settings,
                             locale=locale, outbox=self.outbox, today=lambda: zones.today(zone))
        self.keep_days = float(keep_days)
        self._cache: OrderedDict[str, Session] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._locks = [threading.Lock() for _ in range(LOCKS)]

    def _lock(self, session_id: str) -> threading.Lock:
        return self._locks[hash(session_id) % LOCKS]

    def _load(self, session_id: str) -> Session:
        """The session from the cache of recent sessions, else from the database."""
        with self._cache_lock:
            session = self._cache.get(session_id)
        return session if session is not None else self.store.load(session_id)

    def _save(self, session: Session) -> None:
        """Write through: the database first, then the cache (bounded, least recently saved out)."""
        try:
            self.store.save(session)
        except Exception:
            with self._cache_lock:
                self._cache.pop(session.id, None)
            raise
        with self._cache_lock:
            self._cache[session.id] = session
            self._cache.move_to_end(session.id)
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)

    @remote
    def scripts(self) -> list[dict[str, Any]]:
        """The published scripts: id, version, title, description, needs (the context names
        its required bindings read)."""
        return [attrs.asdict(ScriptInfo(s.id, s.version, s.title, s.description,
                                        tuple(sorted({name for _, _, name in s.context_reads()}))))
                for s in sorted(self.library.values(), key=lambda s: s.id)]

    @remote
    def begin(self, script: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Start a dialog of ``script`` with ``context`` (e.g. ``{"customer_id": 42}``)."""
        if context is not None and not isinstance(context, dict):
            raise InvalidInput("begin: the context must be a dict of names to plain values")
        session = self.engine.start(script, context or {})
        self._save(session)
        return self.engine.view(session)

    @remote
    def current(self, session: str) -> dict[str, Any]:
        with self._lock(session):
            return self.engine.view(self._load(session))

    @remote
    def answer(self, session: str, answer: Any = None, seq: int | None = None) -> dict[str, Any]:
        """Answer the current step (None continues an information item).

        With ``seq`` (the view's ``seq`` the answer was given for), a repeated call is
        recognized and answered with the current view without running anything again.
        """
        return self._change(session, lambda loaded: self.engine.answer(loaded, answer, seq))

    @remote
    def back(self, session: str) -> dict[str, Any]:
        """Return to the previous question."""
        return self._change(session, self.engine.back)

    @remote
    def finish(self, session: str, outcome: str = "abandoned") -> dict[str, Any]:
        """End a dialog early (the caller hung up, the agent closed it)."""
        return self._change(session, lambda loaded: self.engine.finish(loaded, str(outcome)))

    def _change(self, session_id: str, change: Callable[[Session], Any]) -> dict[str, Any]:
        """Apply ``change`` to a session under its lock; saved even when it fails (completed actions count)."""
        with self._lock(session_id):
            loaded = self._load(session_id)
            try:
                change(loaded)
            finally:
                self._save(loaded)
            return self.engine.view(loaded)

    @remote
    def ivr_begin(self, script: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Start a dialog as a phone menu: the turn ``{session, prompt, done, outcome}`` (see ``ivr``)."""
        return attrs.asdict(IvrRunner(self).begin(script, context))

    @remote
    def ivr_press(self, session: str, keys: str) -> dict[str, Any]:
        """The caller keyed ``keys`` (digits, ``*``, ``#``): the next turn."""
        if not isinstance(keys, str) or len(keys) > 32:
            raise InvalidInput("ivr_press: keys are at most 32 of 0-9, * and #")
        return attrs.asdict(IvrRunner(self).press(session, keys))

    @remote
    def sessions(self, status: str | None = "active", limit: int = 100) -> list[dict[str, Any]]:
        """Sessions (most recent first): id, script, status, outcome, seq, step, updated."""
        found = []
        for stored in self.store.all(status, min(int(limit), 10_000)):
            session = Session.from_stored(stored)
            found.append(attrs.asdict(SessionSummary(session.id, session.script, session.status, session.outcome,
                                                     session.seq, session.frame.step, session.updated)))
        return found

    @remote
    def mail_outbox(self, limit: int = 20) -> dict[str, Any]:
        """The e-mail outbox: how many messages are ``queued``, ``sent`` (kept ``keep_days``)
        and ``failed`` (given up), and under ``failing`` at most ``limit`` messages in trouble,
        newest first (failed ones, and queued ones whose last attempt failed: ``attempts``,
        ``tried_at``, ``next_try``, ``last_error``)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 1000:
            raise InvalidInput("mail_outbox: limit is a whole number from 0 to 1000")
        return self.outbox.listing(limit)

    @remote
    def retry_mail(self, id: int) -> dict[str, Any]:
        """Send the failed message ``id`` of the e-mail outbox again now (queued, its attempts
        and days counted anew, the sender woken); returns its row as ``mail_outbox`` lists
        rows, with ``recipients``. NotFound for no such message, Conflict for one not failed."""
        return self.outbox.retry(id)

    def health(self) -> dict[str, Any]:
        """``ok``, or ``degraded`` with the ``reason`` for a day after e-mail was given up
        (dialogs still run; the failed messages stay listed until sent again)."""
        counts = self.outbox.counts()
        answer = {"status": "ok", "scripts": len(self.library), "active_sessions": self.store.count("active"),
                  "mail_queued": counts["queued"], "mail_failed": counts["failed"]}
        recent = self.outbox.failed_since(moment() - datetime.timedelta(days=1)) if counts["failed"] else 0
        if recent:
            answer.update(status="degraded", reason=f"{recent} e-mail(s) given up in the last day: see caruso "
                                                    f"script outbox, send again with --retry ID")
        return answer

    def export_state(self) -> dict[str, Any]:
        return {"sessions": self.store.all()}

    def import_state(self, state: dict[str, Any]) -> None:
        self.store.save_many(state.get("sessions", []))
        with self._cache_lock:
            self._cache.clear()

    def start(self) -> None:
        """Lifecycle: delete sessions older than ``keep_days``; start sending queued e-mail."""
        cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=self.keep_days)
        self.store.purge(cutoff.isoformat(timespec="seconds"))
        self.mailer.start()

    def stop(self) -> None:
        self.mailer.stop()
        self.store.close()
