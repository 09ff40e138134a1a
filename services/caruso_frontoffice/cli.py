"""``caruso frontoffice``: users of the front office and checks of view files."""
from __future__ import annotations

from pathlib import Path

import click

from caruso_core.deployment import default_sqlite_url
from caruso_core.errors import ConfigError
from caruso_frontoffice.accounts import ROLES, Accounts
from caruso_frontoffice.database import open_database
from caruso_frontoffice.views.catalog import load

DB_HELP = "SQLAlchemy URL of the front office's database (default: frontoffice.db in the data folder)."


@click.group()
def frontoffice() -> None:
    """The front office: users and view definitions."""


@frontoffice.group()
def user() -> None:
    """Users of the front office."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the password from the first line of this file instead of prompting.")
@click.option("--db", help=DB_HELP)
def add(name: str, role: str, password_file: Path | None, db: str | None) -> None:
    """Add the user NAME with a ROLE; the password comes from a prompt or --password-file."""
    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise ConfigError(f"{password_file}: cannot read the password file ({error.strerror})") from None
        password = lines[0] if lines else ""
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    created = Accounts(open_database(db or default_sqlite_url("frontoffice.db"))).add(name, role, password)
    click.echo(f"user {created.name} ({created.role}) added")


@user.command("list")
@click.option("--db", help=DB_HELP)
def list_users(db: str | None) -> None:
    """List the users and their roles."""
    for one in Accounts(open_database(db or default_sqlite_url("frontoffice.db"))).all():
        click.echo(f"{one.name}\t{one.role}")


@frontoffice.command("views")
@click.argument("sources", nargs=-1, required=True)
def views(sources: tuple[str, ...]) -> None:
    """Check view files (files, folders or package:path), merged in the order given."""
    catalog = load(sources)
    kinds: dict[str, int] = {}
    for view in catalog.views.values():
        kinds[view.kind] = kinds.get(view.kind, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "no views"
    click.echo(f"ok: {summary}, {len(catalog.menus)} menu(s)")
