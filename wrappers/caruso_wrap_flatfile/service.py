"""The customer master of an old mainframe, as a service: ``caruso.customer-master/1``.

The master is a file of fixed-width records (text with a newline after each record,
or records of a fixed byte length without separators, as mainframes write them, in
any codec such as ``cp037`` for EBCDIC). The file is re-read when it changes (the
nightly batch rewrites it). Changes are never written into the master: each is
appended as a fixed-width record, ``U`` + the whole new record, to a change file that
the mainframe's batch picks up.

Interface ``caruso.customer-master/1``:

``get(customer_no) -> dict``             NotFound if unknown
``find(where, limit=50) -> list[dict]``  ``where`` maps fields to values: text fields match
                                         case-insensitively by prefix, others by equality
``count() -> int``
``describe() -> dict``                   the layout, the key and the number of records
``change(customer_no, values) -> dict``  queue a change; returns the change entry
``pending_changes() -> list[dict]``      the queued changes, oldest first
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from caruso_core import ConfigError, InvalidInput, NotFound, privatefiles, remote, service
from caruso_wrap_flatfile.layout import CUSTOMER_MASTER, Layout

MAX_RESULTS = 1000
CHANGES_MODE = 0o640     # the batch reads the change file through the group (docs/wrappers.md)
REPORTED_REJECTS = 20


@service(name="customer-master", interface="caruso.customer-master/1", version="1.0.0")
class CustomerMaster:
    def __init__(self, path: str = "customers.dat", changes: str | None = None, encoding: str = "latin-1",
                 record_length: int | None = None, layout: list[dict[str, Any]] | None = None,
                 key: str = "customer_no", strict: bool = True) -> None:
        self.path = Path(path)
        self.changes_path = Path(changes) if changes else self.path.with_suffix(self.path.suffix + ".changes")
        self.encoding = encoding
        self.layout = Layout.from_config(layout, key) if layout else CUSTOMER_MASTER
        self.record_length = record_length
        self.strict = strict
        self.records: dict[Any, dict[str, Any]] = {}
        self.rejected: list[str] = []
        self._seen: tuple[float, int] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._refresh()

    @remote
    def get(self, customer_no: Any) -> dict[str, Any]:
        records = self._refresh()
        if customer_no not in records:
            raise NotFound(f"no customer {customer_no!r} in {self.path.name}")
        return dict(records[customer_no])

    @remote
    def find(self, where: dict[str, Any], limit: int = 50) -> list[dict[str, Any]]:
        if not isinstance(where, dict) or not where:
            raise InvalidInput("find needs a dict of field: value")
        fields = {field.name: field for field in self.layout.fields}
        unknown = sorted(set(where) - set(fields))
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(fields)}")
        if not isinstance(limit, int) or not 0 < limit <= MAX_RESULTS:
            raise InvalidInput(f"limit must be 1 to {MAX_RESULTS}")
        wanted = {name: (value.casefold() if fields[name].type == "text" else value)
                  for name, value in where.items()}
        found = []
        for record in self._refresh().values():
            if all(record[n].casefold().startswith(v) if fields[n].type == "text" else record[n] == v
                   for n, v in wanted.items()):
                found.append(dict(record))
                if len(found) == limit:
                    break
        return found

    @remote
    def count(self) -> int:
        return len(self._refresh())

    @remote
    def describe(self) -> dict[str, Any]:
        return {"key": self.layout.key, "fields": self.layout.describe(), "records": self.count(),
                "file": self.path.name}

    @remote
    def change(self, customer_no: Any, values: dict[str, Any]) -> dict[str, Any]:
        current = self.get(customer_no)
        if not isinstance(values, dict) or not values:
            raise InvalidInput("change needs a dict of field: new value")
        if self.layout.key in values and values[self.layout.key] != customer_no:
            raise InvalidInput(f"the key {self.layout.key} cannot change")
        unknown = sorted(set(values) - {field.name for field in self.layout.fields})
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(unknown)}")
        record = "U" + self.layout.encode({**current, **values})
        data = (record + "\n").encode(self.encoding)
        with self._lock:
            privatefiles.create_file(self.changes_path, CHANGES_MODE)
            descriptor = os.open(self.changes_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, CHANGES_MODE)
            try:
                os.write(descriptor, data)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        return {"type": "U", **self.layout.decode(record[1:])}

    @remote
    def pending_changes(self) -> list[dict[str, Any]]:
        if not self.changes_path.exists():
            return []
        lines = self.changes_path.read_bytes().decode(self.encoding).splitlines()
        return [{"type": line[0], **self.layout.decode(line[1:])} for line in lines if line]

    def health(self) -> dict[str, Any]:
        status = "degraded" if self.rejected else "ok"
        return {"status": status, "records": len(self.records), "rejected": self.rejected[:REPORTED_REJECTS]}

    def _refresh(self) -> dict[Any, dict[str, Any]]:
        """The records, re-read if the file changed since the last read."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise ConfigError(f"customer master {self.path} does not exist") from None
        with self._lock:
            if self._seen != (stat.st_mtime, stat.st_size):
                self.records, self.rejected = self._read()
                self._seen = (stat.st_mtime, stat.st_size)
            return self.records

    def _read(self) -> tuple[dict[Any, dict[str, Any]], list[str]]:
        text = self.path.read_bytes().decode(self.encoding, errors="replace")
        if self.record_length:
            raw = [text[i:i + self.record_length] for i in range(0, len(text), self.record_length)]
        else:
            raw = text.splitlines()
        records: dict[Any, dict[str, Any]] = {}
        rejected: list[str] = []
        for number, line in enumerate(raw, start=1):
            if not line.strip():
                continue
            try:
                if len(line) < self.layout.width:
                    raise ValueError(f"{len(line)} characters, the layout needs {self.layout.width}")
                record = self.layout.decode(line)
            except ValueError as error:
                problem = f"{self.path.name} record {number}: {error}"
                if self.strict:
                    raise ConfigError(problem + " (start with strict=false to skip bad records)") from None
                rejected.append(problem)
                continue
            records[record[self.layout.key]] = record
        return records, rejected
