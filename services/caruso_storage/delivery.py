"""Delivering the outbox (:mod:`caruso_storage.outbox`): one thread per storage instance.

Contract of :class:`Delivery`: ``start`` begins the thread, ``wake`` makes it look at
once (the storage wakes it after committing a change that wrote a row), ``stop`` ends it
after the call it is making. Each pass takes the oldest pending row of each interface
that is due, claims it, calls ``method(**arguments)`` on the service found for the
interface through the instance's client, and then, in one transaction, writes the values
the result gives back onto the object (``result_to``) and marks the row delivered. A
failed call is tried again after ``backoff * 2 ** (attempts - 1)`` seconds (at most
``backoff_max``) until ``attempts`` calls failed; then, or at once for InvalidInput
(the call can never succeed) or a result that cannot be written back (InvalidInput,
NotFound), the row is failed with its last error; any other failure to record the
delivery (a database read-only for now) counts as a failed attempt. Delivery is at
least once: a storage killed during a call makes it again once the claim (``lease``
seconds) has run out; the ERP's references make a second order impossible. Delivered
rows are removed after ``keep_days``. The thread and the settings are those of
:mod:`caruso_core.retrying` (``Worker``, ``Retries``).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from typing import Any, Callable, Iterator

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from caruso_core.client import Client
from caruso_core.errors import CarusoError, InvalidInput, NotFound
from caruso_core.retrying import Retries, Worker

from caruso_storage import outbox
from caruso_storage.database import Transaction

log = logging.getLogger("caruso.storage.outbox")
POLL = 5.0                  # seconds between looks when nothing is due (rows of other instances)


class Delivery(Worker):
    """The outbox thread of one storage instance; see the module's contract.

    ``transaction()`` opens a storage transaction; ``write(transaction, object, key,
    values)`` changes an object in it (with its rules).
    """

    def __init__(self, client: Client, journal: Engine, journal_name: str, retries: Retries,
                 transaction: Callable[[], Transaction],
                 write: Callable[[Transaction, str, Any, dict[str, Any]], Any]) -> None:
        self._client = client
        self._journal = journal
        self._journal_name = journal_name
        self.retries = retries
        self._transaction = transaction
        self._write = write
        super().__init__("caruso-storage-outbox", log, "delivering the outbox", POLL)

    def work(self) -> float:
        """Send the rows that are due; returns the seconds until the next one is (at most POLL)."""
        if self.prune_due():
            with self._journal_write() as connection:
                outbox.prune(connection, outbox.moment() - dt.timedelta(days=self.retries.keep_days))
        with self._journal.connect() as connection:
            rows = outbox.pending(connection)
        wait = POLL
        for row in rows:
            if self.stopping:
                break
            early = (row["next_try"] - outbox.moment()).total_seconds()
            if early > 0:
                wait = min(wait, early)
                continue
            with self._journal_write() as connection:
                if not outbox.claim(connection, row, self.retries.lease):
                    continue
            self._deliver(row, row["attempts"] + 1)
            wait = 0.0                  # the interface's next row may be due now
        return max(wait, 0.0)

    def _deliver(self, row: dict[str, Any], attempts: int) -> None:
        where = f"outbox row {row['id']} (rule {row['rule']}, {row['interface']}.{row['method']})"
        try:
            result = self._call(row["interface"], row["method"], json.loads(row["arguments"]))
        except InvalidInput as error:
            self._fail(row["id"], f"{type(error).__name__}: {error}", where)
            return
        except Exception as error:
            self._again(row["id"], attempts, f"{type(error).__name__}: {error}", where)
            return
        try:
            with self._transaction() as transaction:
                if row["result_to"]:
                    self._write(transaction, row["object"], json.loads(row["object_key"]),
                                outbox.write_back(row["result_to"], result))
                outbox.delivered(transaction.connection(self._journal_name), row["id"])
        except (InvalidInput, NotFound) as error:      # the object is gone or the result cannot go into it
            self._fail(row["id"], f"delivered, but writing the result back failed: {error}", where)
        except CarusoError as error:                   # e.g. a database read-only for now: send it again later
            self._again(row["id"], attempts, f"delivered, but not recorded: {error}", where)

    def _again(self, row_id: int, attempts: int, error: str, where: str) -> None:
        """Try the row again after its backoff, or fail it for good after its last attempt."""
        if attempts >= self.retries.attempts:
            self._fail(row_id, f"{error} (after {attempts} attempts)", where)
            return
        log.warning("%s: attempt %d failed, trying again: %s", where, attempts, error)
        with self._journal_write() as connection:
            outbox.retry_later(connection, row_id, self.retries.delay(attempts), error)

    def _call(self, interface: str, method: str, arguments: dict[str, Any]) -> Any:
        return getattr(self._client.service(interface), method)(**arguments)

    def _fail(self, row_id: int, error: str, where: str) -> None:
        log.error("%s failed for good: %s", where, error)
        with self._journal_write() as connection:
            outbox.failed(connection, row_id, error)

    @contextlib.contextmanager
    def _journal_write(self) -> Iterator[Connection]:
        with self._transaction() as transaction:
            yield transaction.connection(self._journal_name)
