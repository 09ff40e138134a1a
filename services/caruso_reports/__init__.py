"""Reporting: statistics over the communication server's event log.

A report definition (TOML, docs/report-format.md) names measures, dimensions,
filters and a date range; the engine computes it over the table ``comm_events``
with SQLAlchemy and returns rows of plain data; renderers (pluggy hook
``caruso_report_renderers``) turn a report into a table, CSV, HTML, PNG or PDF.
"""
