"""The standard report renderers: ``table``, ``csv``, ``html``, ``png`` and ``pdf``.

A renderer is a callable ``render(report: Report) -> bytes``, provided by a plugin of the
hook ``caruso_report_renderers`` (see :mod:`caruso_reports.plugin`).
"""
