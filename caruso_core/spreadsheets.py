"""CSV for spreadsheets: a cell a spreadsheet would compute is written so that it shows as
text (CSV injection: a customer's name ``=HYPERLINK(...)`` must not become a formula), and
every cell is quoted (a spreadsheet that splits at ``;`` keeps ``x;=1+2`` whole)."""
from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterable, Sequence

PLAIN = re.compile(r"-|[+-]?[0-9]+(\.[0-9]+)?")    # a lone dash, or a signed number: the sign computes nothing


def cell(text: str) -> str:
    """``text`` as a cell a spreadsheet shows as text: one starting like a formula gets a
    quote, unless it is one signed number (``-12.50``), which a spreadsheet should read as
    the number it is, or a lone dash (a value the report does not have). A phone number keeps the quote: ``+1-202-555-0101`` would be computed
    (-857), and ``+3:3`` is a reference to a row."""
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not PLAIN.fullmatch(text):
        return "'" + text
    return text


def table(rows: Iterable[Sequence[Any]]) -> str:
    """``rows`` (the header first) as CSV text: every cell quoted, each text through :func:`cell`."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(
        [cell(value) if isinstance(value, str) else value for value in row] for row in rows)
    return out.getvalue()
