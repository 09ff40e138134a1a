"""Command line of the storage service: ``caruso model ...`` and ``caruso data ...``.

Database options are those of the service: ``--model FILE`` (repeatable: files applied
in order, later ones extending earlier ones), ``--db URL`` (the model's first database),
``--database NAME=URL``; without any of them, those of the storage of the deployment of the
folder (``./caruso.toml``), else the packaged example model and ``storage.db`` in the data
folder.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import click
from sqlalchemy import make_url

from caruso_core import databases, deployment, progress
from caruso_core.cli import manager_option
from caruso_core.errors import ConfigError, Conflict

from caruso_storage import drafting, existing, importer, loader, migrate, tables
from caruso_storage.database import WRITE_OPTION, journal_name, open_engine, open_engines
from caruso_storage.describe import describe_model, describe_object
from caruso_storage.model import Model

STORAGE = "caruso.storage/1"


def database_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--database", "databases", multiple=True, metavar="NAME=URL",
                           help="URL of a database of the model, by its name (repeatable).")(command)
    command = click.option("--db", help="URL of the model's first database (default: the storage's db in "
                                        "./caruso.toml, else storage.db in the data folder).")(command)
    return click.option("--model", "model_files", type=click.Path(dir_okay=False), multiple=True,
                        help="A model file (repeatable: applied in order; default: the storage's model in "
                             "./caruso.toml, else the packaged example model).")(command)


def _as_deployed(model_files: tuple[str, ...], db: str | None, databases: tuple[str, ...]
                 ) -> tuple[tuple[str, ...], str | None, dict[str, str]]:
    """The database options as given; when none is, those of the storage of the folder's
    deployment (its model, db and databases: never mixed with options given)."""
    if model_files or db or databases:
        return model_files, db, _urls(databases)
    config = deployment.service_config(STORAGE)
    configured, urls = config.get("model") or [], config.get("databases") or {}
    files = [configured] if isinstance(configured, str) else configured
    if not isinstance(files, list) or not all(isinstance(file, str) for file in files) \
            or not isinstance(urls, dict) or not all(isinstance(url, str) for url in urls.values()):
        raise ConfigError(f"{deployment.DEFAULT_FILE}: [services.storage] config: model is a file or a list of "
                          f"files, databases a table of URLs")
    return tuple(files), config.get("db"), dict(urls)


def _model(model_files: tuple[str, ...]) -> Model:
    return loader.load(list(model_files)) if model_files else loader.load_default()


def databases_speaking(db: str | None) -> Any:
    """:func:`caruso_core.databases.speaking` naming the storage's database (``--db`` or the default)."""
    shown = databases.database_url(db).render_as_string(hide_password=True) if db else "the storage's database"
    return databases.speaking(shown)


def _urls(pairs: tuple[str, ...]) -> dict[str, str]:
    urls = {}
    for pair in pairs:
        name, sep, url = pair.partition("=")
        if not sep or not name or not url:
            raise ConfigError(f"--database {pair!r} is not NAME=URL")
        urls[name] = url
    return urls


@click.group()
def model() -> None:
    """Check, compare, upgrade and draft business object models."""


@model.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--db", help="Also compare the existing tables of the model's first database at this URL.")
@click.option("--database", "databases", multiple=True, metavar="NAME=URL",
              help="Also compare the existing tables of this database of the model (repeatable).")
def validate(files: tuple[str, ...], db: str | None, databases: tuple[str, ...]) -> None:
    """Check model FILES (one model, applied in order) against the schema and the model's rules;
    with --db or --database, also the existing tables it maps in those databases (nothing is changed)."""
    checked = loader.load(list(files))
    click.echo(f"{checked.source}: valid ({len(checked.objects)} objects, {len(checked.databases)} database(s))")
    urls = _urls(databases)
    if db is not None:
        urls[checked.default_database] = db
    unknown = set(urls) - set(checked.databases)
    if unknown:
        raise ConfigError(f"--database: the model has no database(s) {', '.join(sorted(unknown))} "
                          f"(declared: {', '.join(checked.databases)})")
    _refuse_misfits(sum((_compare_existing(checked, name, url) for name, url in urls.items()), []))


def _compare_existing(checked: Model, name: str, url: str) -> list[str]:
    """Print how the existing tables of database ``name`` at ``url`` fit the model; returns what does not."""
    if not any(obj.database == name and obj.existing for obj in checked.objects.values()):
        return []
    with databases.reading_existing(url):
        engine = open_engine(url, f"database {name}", owned=False)
        try:
            found = existing.find(checked, name, engine)
        finally:
            engine.dispose()
    mapped = sum(obj.database == name and obj.existing for obj in checked.objects.values())
    state = f"{len(found.problems)} mismatch(es)" if found.problems else "they fit the model"
    click.echo(f"database {name} ({make_url(url).render_as_string(hide_password=True)}): "
               f"{mapped} existing table(s), {state}")
    for problem in found.problems:
        click.echo(f"  {problem}")
    return found.problems


def _refuse_misfits(problems: list[str]) -> None:
    if problems:
        raise ConfigError(f"{len(problems)} mismatch(es) between the model and existing tables (listed above); "
                          "existing tables are never changed: correct the model")


@model.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--object", "object_name", help="Only this object.")
def describe(files: tuple[str, ...], object_name: str | None) -> None:
    """Print what the storage's describe() answers for the model of FILES (default: the packaged
    example model), as JSON: objects, attributes, keys, relations, rules."""
    checked = _model(files)
    if object_name is not None and object_name not in checked.objects:
        raise ConfigError(f"{checked.source}: no object {object_name!r} (objects: {', '.join(checked.objects)})")
    answer = describe_model(checked) if object_name is None else describe_object(checked.objects[object_name])
    click.echo(json.dumps(answer, indent=2, ensure_ascii=False))


def _differences(model_files: tuple[str, ...], db: str | None, databases: tuple[str, ...],
                 act: Callable[[Any, list[migrate.Difference]], list[migrate.Difference]],
                 journal: bool = False) -> None:
    model_files, db, urls = _as_deployed(model_files, db, databases)
    with databases_speaking(db):
        _differences_in(model_files, db, urls, act, journal)


def _differences_in(model_files: tuple[str, ...], db: str | None, urls: dict[str, str],
                    act: Callable[[Any, list[migrate.Difference]], list[migrate.Difference]], journal: bool) -> None:
    checked = _model(model_files)
    schema = tables.build(checked)
    engines = open_engines(checked, db, urls)
    misfits = sum((_compare_existing(checked, name, engines[name].url.render_as_string(hide_password=False))
                   for name in checked.databases), [])
    if journal:
        _refuse_misfits(misfits)
    for name in checked.databases:
        engine, owned = engines[name], schema.new_tables(checked, name)
        found: list[migrate.Difference] = []
        shown: list[migrate.Difference] = []
        if owned and not journal and databases.missing_sqlite_file(engine.url):     # diff makes no file
            click.echo(f"database {name} ({engine.url.render_as_string(hide_password=True)}): does not exist "
                       f"yet; upgrade makes it with {len(owned)} new table(s)")
            continue
        if owned:
            writing = {WRITE_OPTION: True} if journal else {}          # diff only reads
            with engine.connect().execution_options(**writing) as connection, connection.begin():
                found = migrate.differences(connection, owned)
                shown = act(connection, found)
        if owned:
            state = "up to date" if not found else f"{len(found)} difference(s)"
            click.echo(f"database {name} ({engine.url.render_as_string(hide_password=True)}): new tables {state}")
        for difference in shown:
            click.echo(f"  {difference}")
    if journal:                                      # after the model's tables: a refusal there leaves it be
        migrate.upgrade_journal(engines[journal_name(checked)])
    for engine in engines.values():
        engine.dispose()
    _refuse_misfits(misfits)


@model.command()
@database_options
def diff(model_files: tuple[str, ...], db: str | None, databases: tuple[str, ...]) -> None:
    """Show what the databases lack for the model's new tables, and every existing table or column
    that does not fit the model (failing then); nothing is changed."""
    _differences(model_files, db, databases, lambda connection, found: found)


@model.command()
@database_options
def upgrade(model_files: tuple[str, ...], db: str | None, databases: tuple[str, ...]) -> None:
    """Create the missing tables, columns and indexes of the model's new tables; list manual steps.

    The storage service's own tables (contact history, rule log, due runs, outbox) are migrated too. Existing
    tables are never changed: when one does not fit the model, nothing is done.
    """

    def act(connection: Any, found: list[migrate.Difference]) -> list[migrate.Difference]:
        done = migrate.apply(connection, found)
        return [*(migrate.Difference(f"done: {d.text}", True, d.change) for d in done),
                *(d for d in found if not d.automatic)]

    _differences(model_files, db, databases, act, journal=True)


@model.command()
@click.argument("url")
@click.option("--name", default="legacy", show_default=True, help="Name of the database in the model.")
@click.option("--table", "table_names", multiple=True, help="Only this table (repeatable).")
@click.option("--schema", help="Database schema of the tables (PostgreSQL).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the draft here, not to stdout.")
def inspect(url: str, name: str, table_names: tuple[str, ...], schema: str | None, output: str | None) -> None:
    """Draft a model mapping the tables of an existing database (DB_URL), to start a legacy mapping."""
    with databases.reading_existing(url):
        engine = open_engine(url, "inspect", owned=False)
        try:
            text = drafting.draft(engine, name, list(table_names) or None, schema)
        finally:
            engine.dispose()
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{output}: cannot write the draft ({error.strerror})") from None
        click.echo(f"draft written to {output}; check it with: caruso model validate {output}")
    else:
        click.echo(text, nl=False)


@click.group()
def data() -> None:
    """Move business objects in and out of the storage."""


@data.command("import")
@click.argument("object_name", metavar="OBJECT")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@database_options
@click.option("--partial", is_flag=True, help="Write the good rows even when some are bad.")
def import_(object_name: str, file: Path, model_files: tuple[str, ...], db: str | None,
            databases: tuple[str, ...], partial: bool) -> None:
    """Import objects from a CSV file whose header names attributes; report every bad row."""
    from caruso_storage.service import StorageManager

    model_files, db, urls = _as_deployed(model_files, db, databases)
    with databases_speaking(db):
        storage = StorageManager(model=list(model_files) or None, db=db, databases=urls)
        try:
            rows = importer.read_rows(file, importer.records_of(storage, object_name).names)
            with progress.counting(f"importing {object_name}", len(rows)) as advance:
                report = importer.import_rows(storage, object_name, rows, partial, advance)
        finally:
            storage.stop()
    for line, message in report.errors:
        click.echo(f"{file}:{line}: {message}", err=True)
    click.echo(f"{report.written} of {len(rows)} row(s) written, {len(report.errors)} bad")
    if report.errors and not partial:
        raise ConfigError(f"{file}: {len(report.errors)} bad row(s), nothing written; "
                          "fix them or use --partial to write the good rows")
    if report.errors:
        raise ConfigError(f"{file}: {len(report.errors)} bad row(s) not written (the good ones are)")


@data.command("demo")
@click.option("--vertical", "names", multiple=True, metavar="NAME",
              help="A vertical whose demo data to load (repeatable; default: those of ./caruso.toml).")
@click.option("--customers", type=click.IntRange(1, 1_000_000), default=1000, show_default=True,
              help="How many demo customers (with their records).")
@manager_option
def demo(names: tuple[str, ...], customers: int, manager_uri: str | None) -> None:
    """Load the verticals' demo data into the running deployment, through its storage service."""
    import caruso_core
    from caruso_core import verticals

    chosen = list(names) or list(deployment.load(None).verticals)
    if not chosen:
        raise ConfigError(f"{deployment.DEFAULT_FILE} names no vertical: say which with --vertical NAME "
                          f"(installed: {', '.join(sorted(verticals.installed())) or 'none'})")
    loaders = verticals.demo_loaders(chosen)
    storage = caruso_core.connect(manager_uri).get(STORAGE)
    for vertical, load in loaders:
        try:
            counts = load(storage, customers)
        except Conflict as error:
            raise Conflict(f"demo data of {vertical}: {error}; demo data goes into a deployment "
                           "that holds none yet") from None
        made = ", ".join(f"{count:,} {name}" for name, count in counts.items() if count)
        click.echo(f"{vertical}: created {made or 'nothing (its demo data is there already)'}")
