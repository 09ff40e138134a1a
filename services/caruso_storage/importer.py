"""Importing business objects from CSV: check every row, then write all or (on request) the good ones.

The header names attributes; an empty cell is a missing value. Each row is checked
against the model first; with errors and without ``partial`` nothing is written.
Writing goes through the service's ``apply``: all rows in one transaction, or with
``partial`` in batches, a failing batch retried row by row so every bad row is named.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Iterable

import attrs

from caruso_core.errors import CarusoError, ConfigError

from caruso_storage.records import Records
from caruso_storage.service import StorageManager

BATCH = 500


@attrs.define
class Report:
    """The outcome of an import: rows written, and per bad row its line and the reason."""

    written: int = 0
    errors: list[tuple[int, str]] = attrs.field(factory=list)


def read_rows(path: Path, attributes: Iterable[str]) -> list[tuple[int, dict[str, str | None]]]:
    """(line, values) of every data row of the CSV file; the header must name known attributes."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            header = reader.fieldnames or []
            unknown = [name for name in header if name not in attributes]
            if unknown:
                raise ConfigError(f"{path}:1: unknown column(s) {', '.join(unknown)} "
                                  f"(the header names attributes: {', '.join(attributes)})")
            return [(reader.line_num, {k: (v if v != "" else None) for k, v in row.items() if k is not None})
                    for row in reader]
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not a UTF-8 CSV file ({error})") from None


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
    if report.errors and not partial:
        return report
    batches = [good[start:start + BATCH] for start in range(0, len(good), BATCH)] if partial else [good]
    for batch in batches:
        try:
            _write(storage, object, batch, report)
        except CarusoError as error:
            if not partial:
                report.errors.append(_located(batch, error))
                return report
            for row in batch:
                try:
                    _write(storage, object, [row], report)
                except CarusoError as row_error:
                    report.errors.append((row[0], _reason(row_error)))
    report.errors.sort()
    return report


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
