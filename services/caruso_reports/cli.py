"""``caruso report NAME``: compute a report definition and write it as a table, CSV, HTML,
PNG or PDF.

With ``--db URL`` the event log is read straight from that database; without, the
running solution's ``caruso.reports/1`` service computes it.
"""
from __future__ import annotations

import sys
import tomllib

import click

from caruso_core import connect, deployment, plugins, privatefiles, progress, zones
from caruso_core.cli import manager_option
from caruso_core.errors import ConfigError

from caruso_reports import definition, engine
from caruso_reports.eventlog import open_engine
from caruso_reports.periods import NAMES as PERIODS
from caruso_reports.report import Report

BINARY = ("png", "png-narrow", "pdf")


@click.command()
@click.argument("name", required=False)
@click.option("--from", "start", metavar="DATE", help="First day (YYYY-MM-DD) or moment (YYYY-MM-DDTHH:MM).")
@click.option("--to", "end", metavar="DATE", help="Last day (included) or moment (excluded).")
@click.option("--period", type=click.Choice(PERIODS), help="Period size (default: the definition's).")
@click.option("--timezone", help="Time zone of periods and dates, e.g. Europe/Berlin (default: the definition's, else UTC).")
@click.option("--queue", "queues", multiple=True, help="Only this queue (repeatable).")
@click.option("--agent", "agents", multiple=True, help="Only this agent (repeatable).")
@click.option("--db", help="Read the event log from this database URL instead of the running solution.")
@click.option("--definitions", "folder", type=click.Path(file_okay=False),
              help="Folder of your own definitions (default: ./reports).")
@click.option("--format", "output_format", default="table", show_default=True,
              help="table, csv, html, png, pdf (or a renderer a plugin adds).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--list", "list_only", is_flag=True, help="List the report definitions and exit.")
@manager_option
def report(name: str | None, start: str | None, end: str | None, period: str | None, timezone: str | None,
           queues: tuple[str, ...], agents: tuple[str, ...], db: str | None, folder: str | None,
           output_format: str, output: str | None, list_only: bool, manager_uri: str | None) -> None:
    """Compute report NAME (a built-in definition, one in ./reports, or a .toml file)."""
    folders = (folder or definition.USER_FOLDER,)
    if list_only:
        click.echo("\n".join(sorted(definition.catalogue(folders))))
        return
    if not name:
        raise ConfigError("name a report, e.g. caruso report incoming-calls (caruso report --list shows them)")
    renderers = plugins.provided("caruso_report_renderers")
    if output_format not in renderers:
        raise ConfigError(f"--format {output_format}: no such renderer; available: {', '.join(sorted(renderers))}")
    if output is None and output_format in BINARY and sys.stdout.isatty():
        raise ConfigError(f"--format {output_format} is binary: write it to a file with --output FILE")
    path = definition.locate(name, folders)
    text = definition.read(path)
    if timezone:
        zones.zone(timezone, "--timezone")
    # a definition naming no time zone is in the deployment's (of ./caruso.toml) here, and in
    # the reports service's there (the same in the deployment's folder)
    loaded = definition.from_toml(text, path.stem, str(path),
                                  timezone or deployment.service_config("caruso.reports/1").get("timezone", "UTC"))
    zone = timezone or loaded.timezone
    named = timezone or (loaded.timezone if "timezone" in tomllib.loads(text) else None)
    filters = {key: values for key, values in (("queue", queues), ("agent", agents)) if values}
    first = definition.parse_time(start, "--from", timezone=zone) if start else None
    last = definition.parse_time(end, "--to", end=True, timezone=zone) if end else None
    if first is not None and last is not None and last <= first:
        raise ConfigError(f"--to {end} is not after --from {start}: the range is empty or inverted")
    checked = loaded.override(start=first, end=last, period=period, timezone=zone, filters=filters,
                              where=f"{path.name} with the options given")
    if db and checked.object is not None:
        raise ConfigError(f"{path.name} counts {checked.object} objects of the storage service, not the event log: "
                          "run it without --db")
    with progress.step(f"computing {checked.name}"):
        if db:
            log = open_engine(db)
            try:
                result = engine.compute(log, checked)
            finally:
                log.dispose()
        else:
            reports = connect(manager_uri).get("caruso.reports/1")
            result = Report.from_dict(reports.run(text, checked.name, checked.start, checked.end, checked.period,
                                                  {key: list(values) for key, values in checked.filters.items()},
                                                  named))
    rendered = renderers[output_format](result)
    if output:
        try:
            privatefiles.write_file(output, rendered)
        except OSError as error:
            raise ConfigError(f"--output {output}: cannot write: {error.strerror}") from None
    else:
        stream = sys.stdout.buffer
        stream.write(rendered)
        stream.flush()
