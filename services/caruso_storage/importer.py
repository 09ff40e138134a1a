"""Importing business objects from CSV: check every row, then write all or (on request) the good ones.

The header names attributes; an empty cell is a missing value; a file that is no such
CSV file is refused whole. Each row is checked against the model first, and its values of
single-attribute keys and unique values against earlier rows and stored objects; with
errors and without ``partial`` nothing is written.
Writing goes through the service's ``apply``: all rows in one transaction, or with
``partial`` in batches, a failing batch retried row by row so every bad row is named.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Iterable

import attrs

from caruso_core.errors import CarusoError, ConfigError, Unavailable

from caruso_storage.records import Records
from caruso_storage.service import StorageManager

BATCH = 500


@attrs.define
class Report:
    """The outcome of an import: rows written, and per bad row its line and the reason."""

    written: int = 0
    errors: list[tuple[int, str]] = attrs.field(factory=list)


def read_rows(path: Path, attributes: Iterable[str]) -> list[tuple[int, dict[str, str | None]]]:
    """(line, values) of every data row of the CSV file (the line the row ends on); blank
    lines are skipped. The first row, the header, names known attributes, each once; every
    row has as many cells as the header. ConfigError naming the file (and the line) for
    anything else: no header, a quote left open, a row of more or fewer cells, a NUL
    character, a cell beyond the csv module's limit, text that is not UTF-8."""
    header: list[str] | None = None
    rows = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file, strict=True)
            while True:
                started = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as error:
                    raise ConfigError(f"{path}:{started}: not CSV from this line on ({error})") from None
                if not cells:
                    continue
                if any("\0" in cell for cell in cells):
                    raise ConfigError(f"{path}:{reader.line_num}: a cell holds a NUL character")
                if header is None:
                    header = _header(path, reader.line_num, cells, attributes)
                elif len(cells) != len(header):
                    raise ConfigError(f"{path}:{reader.line_num}: {len(cells)} cell(s), but the header names "
                                      f"{len(header)} column(s)")
                else:
                    rows.append((reader.line_num, {name: (value if value != "" else None)
                                                   for name, value in zip(header, cells)}))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not a UTF-8 CSV file ({error})") from None
    if header is None:
        raise ConfigError(f"{path}: empty: a CSV file's first line names the columns")
    return rows


def _header(path: Path, line: int, cells: list[str], attributes: Iterable[str]) -> list[str]:
    known = list(attributes)
    unknown = [name for name in cells if name not in known]
    if unknown:
        raise ConfigError(f"{path}:{line}: unknown column(s) {', '.join(unknown)} "
                          f"(the header names attributes: {', '.join(known)})")
    twice = sorted({name for name in cells if cells.count(name) > 1})
    if twice:
        raise ConfigError(f"{path}:{line}: column(s) {', '.join(twice)} named twice")
    return cells


def records_of(storage: StorageManager, object: str) -> Records:
    """The records of ``object`` in the storage's model, or a ConfigError naming the objects."""
    records = storage.records.get(object)
    if records is None:
        raise ConfigError(f"the model has no object {object!r} (objects: {', '.join(storage.records)})")
    return records


def import_rows(storage: StorageManager, object: str, rows: list[tuple[int, dict[str, Any]]], partial: bool,
                progress: Callable[[int], None]) -> Report:
    """Check and write ``rows`` of ``object``; ``progress(n)`` is told of every n rows handled."""
    records = records_of(storage, object)
    report = Report()
    good = []
    for line, values in rows:
        try:
            records.new(values)
            good.append((line, values))
        except CarusoError as error:
            report.errors.append((line, error.message))
        progress(1)
    clashing = _clashes(storage, records, good)
    report.errors += clashing
    clashed = {line for line, _ in clashing}
    good = [row for row in good if row[0] not in clashed]
    if report.errors and not partial:
        report.errors.sort()
        return report
    try:
        _write_batches(storage, object, good, partial, report)
    except Unavailable as error:           # the database's state (read-only, gone), not a row's fault
        raise Unavailable(f"{_reason(error)}; {report.written} of {len(rows)} row(s) written before it") from None
    report.errors.sort()
    return report


def _write_batches(storage: StorageManager, object: str, rows: list[tuple[int, dict[str, Any]]], partial: bool,
                   report: Report) -> None:
    """Write ``rows``: all at once, or with ``partial`` in batches, a refused batch row by row;
    every refusal a row's error in ``report`` (Unavailable, the database's, goes up)."""
    for batch in [rows[start:start + BATCH] for start in range(0, len(rows), BATCH)] if partial else [rows]:
        try:
            _write(storage, object, batch, report)
        except CarusoError as error:
            if isinstance(error, Unavailable):
                raise
            if not partial:
                report.errors.append(_located(batch, error))
                return
            for row in batch:
                try:
                    _write(storage, object, [row], report)
                except CarusoError as row_error:
                    if isinstance(row_error, Unavailable):
                        raise
                    report.errors.append((row[0], _reason(row_error)))


def _clashes(storage: StorageManager, records: Records, rows: list[tuple[int, dict[str, Any]]]
             ) -> list[tuple[int, str]]:
    """(line, reason) of each row whose value of a single-attribute key or exact unique value is
    that of an earlier row or of a stored object, compared as the database holds them (``007``
    and ``7`` of a number are one): found before writing, so each is named by its line (the
    database names only the batch)."""
    obj = records.obj
    unique = [obj.key[0]] if len(obj.key) == 1 else []
    unique += [check.attribute for check in obj.uniques if check.compare == "exact"]
    unique += [index.attributes[0] for index in obj.indexes if index.unique and len(index.attributes) == 1]
    found: list[tuple[int, str]] = []
    for name in dict.fromkeys(unique):
        lines: dict[Any, int] = {}       # a value as the database holds it (007 is 7): its first line
        given: list[Any] = []            # that value as the file gives it, for the query
        for line, values in rows:
            value = values.get(name)
            if value is None:
                continue
            held = records.decode({name: value})[name]
            if held in lines:
                found.append((line, f"{name}: line {lines[held]} has this {name} already"))
            else:
                lines[held] = line
                given.append(value)
        for start in range(0, len(given), BATCH):
            chunk = given[start:start + BATCH]
            for stored in storage.query(obj.name, {"field": name, "op": "in", "value": chunk}, None, len(chunk)):
                line = lines.get(records.decode({name: stored[name]}, bounded=False)[name])
                if line is not None:
                    found.append((line, f"{name}: another {obj.name} has this {name} already"))
    return found


def _located(rows: list[tuple[int, dict[str, Any]]], error: CarusoError) -> tuple[int, str]:
    """The CSV line (or lines) of the operation an ``apply`` error names."""
    first, _, last = str(error.details.get("operation", "0")).partition("-")
    lines = (rows[int(first)][0], rows[int(last or first)][0])
    where = "" if lines[0] == lines[1] else f" (one of lines {lines[0]}-{lines[1]})"
    return lines[0], _reason(error) + where


def _reason(error: CarusoError) -> str:
    return error.message.partition(": ")[2] if error.message.startswith("operation ") else error.message


def _write(storage: StorageManager, object: str, rows: list[tuple[int, dict[str, Any]]], report: Report) -> None:
    storage.apply([{"op": "create", "object": object, "values": values} for _, values in rows], results="keys")
    report.written += len(rows)
