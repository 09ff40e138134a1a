"""Work that a component retries in the background: how long it waits between attempts
(:class:`Retries`) and the thread that does the work (:class:`Worker`).

:func:`moment` is now as the outboxes store their times.

Contract of :class:`Retries`: settings read from a table of a component's configuration
by :meth:`Retries.of` (an unknown name, or a value that is not a number above 0, is a
ConfigError naming it); ``delay(attempts)`` is the pause after ``attempts`` failed
attempts, ``backoff * 2 ** (attempts - 1)`` seconds, at most ``backoff_max``; ``attempts``
failed ones are the last; ``lease`` is how long a claimed item is kept from others while
it is worked on; done items are removed after ``keep_days`` (at most :data:`MAX_DAYS`).
A component with other defaults or more settings subclasses it (attrs, each field with
:func:`positive`, or :func:`days` for a number of days).

Contract of :class:`Worker` (a base class: a subclass defines ``work``): ``start`` begins
a daemon thread that calls ``work()`` again and again; ``work`` returns the seconds that
may pass before its next call; ``wake`` makes the next call come at once; ``stop`` ends
the thread after the call in progress (the pauses wait on an event, so a stop never waits
for one to run out) and ``stopping`` tells ``work`` to finish early; ``prune_due()`` is
true on the first call and then once every ``prune_every`` seconds (to remove old done
items). An exception escaping ``work`` is logged and the next call comes after ``poll``
seconds. A stopped worker can be started again.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

import attrs

from caruso_core.errors import ConfigError


def moment() -> dt.datetime:
    """Now as the outboxes store it (UTC, naive, with microseconds: retries can be a fraction
    of a second apart)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def positive(_instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a number above 0 (and at most 10 ** 7)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 10 ** 7:
        raise ConfigError(f"{attribute.name} must be a number above 0 (got {value!r})")


MAX_DAYS = 36_500      # a hundred years: a day count reaching further back leaves datetime's years


def within_days(value: Any) -> bool:
    """Whether ``value`` is a number of days above 0 and at most :data:`MAX_DAYS`."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 < value <= MAX_DAYS


def days(_instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """attrs validator: a number of days above 0 and at most :data:`MAX_DAYS`."""
    if not within_days(value):
        raise ConfigError(f"{attribute.name} must be a number of days above 0 and at most {MAX_DAYS} (got {value!r})")


@attrs.frozen
class Retries:
    """How a component retries; see the module's contract."""

    attempts: int = attrs.field(default=8, validator=positive)
    backoff: float = attrs.field(default=2.0, validator=positive)
    backoff_max: float = attrs.field(default=600.0, validator=positive)
    lease: float = attrs.field(default=120.0, validator=positive)
    keep_days: float = attrs.field(default=30.0, validator=days)

    @classmethod
    def of(cls, config: dict[str, Any] | None, what: str = "outbox") -> Any:
        """Settings from the table ``what`` of a configuration; ConfigError naming a bad one."""
        config = dict(config or {})
        names = list(attrs.fields_dict(cls))
        unknown = set(config) - set(names)
        if unknown:
            raise ConfigError(f"{what}: unknown setting(s) {', '.join(sorted(unknown))} "
                              f"(settings: {', '.join(names)})")
        if "attempts" in config and not isinstance(config["attempts"], int):
            raise ConfigError(f"{what}.attempts must be a whole number above 0 (got {config['attempts']!r})")
        try:
            return cls(**config)
        except ConfigError as error:
            raise ConfigError(f"{what}.{error.message}") from None

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones."""
        return min(self.backoff * 2 ** min(attempts - 1, 60), self.backoff_max)


class Worker:
    """A thread calling ``work()`` until stopped; see the module's contract."""

    def __init__(self, name: str, log: logging.Logger, what: str, poll: float = 5.0,
                 prune_every: float = 3600.0) -> None:
        self.name = name
        self.log = log
        self._what = what
        self._poll = poll
        self._prune_every = prune_every
        self._pruned: float | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def work(self) -> float:
        """Do what is due; the seconds until the next call (a subclass's)."""
        raise NotImplementedError

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def prune_due(self) -> bool:
        now = time.monotonic()
        if self._pruned is not None and now - self._pruned < self._prune_every:
            return False
        self._pruned = now
        return True

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                wait = self.work()
            except Exception:
                self.log.exception("%s failed", self._what)
                wait = self._poll
            self._wake.wait(max(wait, 0.0))
