"""Dialog values in three forms: typed (engine), stored (JSON with tags), plain (wire).

Typed values are str, int, ``Decimal``, bool, None, ``date``, lists and records
(dicts). :func:`stored` and :func:`typed` convert losslessly to and from JSON-able
data (``{"$decimal": "12.50"}``, ``{"$date": "2026-05-01"}``); :func:`plain` gives
the wire form of the caruso contract (decimals and dates as strings).
"""
from __future__ import annotations

import datetime
import decimal
from typing import Any


SCALARS = frozenset({str, int, bool, float, type(None)})


def stored(value: Any) -> Any:
    if type(value) in SCALARS:
        return value
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, list):
        return [stored(v) for v in value]
    if isinstance(value, dict):
        return {k if type(k) is str else str(k): stored(v) for k, v in value.items()}
    return value


def typed(value: Any) -> Any:
    if type(value) in SCALARS:
        return value
    if isinstance(value, dict):
        if len(value) == 1 and "$decimal" in value:
            return decimal.Decimal(value["$decimal"])
        if len(value) == 1 and "$date" in value:
            return datetime.date.fromisoformat(value["$date"])
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """The wire form; a value of any other type (e.g. an action's odd result) becomes its text."""
    if type(value) in SCALARS:
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bytes)):
        return value
    return str(value)
