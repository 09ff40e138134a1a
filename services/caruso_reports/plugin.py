"""The standard report renderers, registered through the ``caruso.plugins`` entry point group."""
from __future__ import annotations

from typing import Any, Callable

from caruso_core import hookimpl


@hookimpl(trylast=True)    # a standard default: any other plugin overrides it
def caruso_report_renderers() -> dict[str, Callable[..., Any]]:
    from caruso_reports.renderers import charts, html, spreadsheet, text
    return {"table": text.table, "csv": spreadsheet.csv, "spreadsheet": spreadsheet.spreadsheet, "html": html.page,
            "png": charts.png, "png-narrow": charts.png_narrow, "pdf": charts.pdf}
