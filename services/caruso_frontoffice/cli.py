"""``caruso frontoffice``: users of the front office and checks of view files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

import caruso_core
from caruso_core import deployment
from caruso_core.cli import manager_option
from caruso_core.deployment import DEFAULT_FILE, default_sqlite_url
from caruso_core.errors import ConfigError, Unavailable
from caruso_frontoffice import articles
from caruso_frontoffice.accounts import ROLES, STAFF, Accounts, check_customer, shown_key, unlinked_customers
from caruso_frontoffice.database import open_database
from caruso_frontoffice.passwords import Cost, Passwords
from caruso_frontoffice.records import STORAGE
from caruso_frontoffice.scriptcontext import context_problems
from caruso_frontoffice.views import deployed
from caruso_frontoffice.views.catalog import Catalog, load, model_problems
from caruso_frontoffice.views.creating import create_problems

DB_HELP = ("SQLAlchemy URL of the front office's database (default: the front office's db in ./caruso.toml, "
           "else frontoffice.db in the data folder).")
PASSWORD_FILE_HELP = "Read the password from the first line of this file instead of prompting."
CHECK_TIMEOUT = 5.0       # seconds a customer key's check waits for an unreachable manager


@click.group()
def frontoffice() -> None:
    """The front office: users and view definitions."""


@frontoffice.group()
def user() -> None:
    """Users of the front office."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option("--customer", metavar="KEY", help="A customer account's customer key, e.g. customer_id=42; "
              "checked against the running storage service: it must name one customer.")
@click.option("--no-check", "unchecked", is_flag=True,
              help="Add a customer account without asking the storage service (setting up before the solution "
                   "runs); its key is checked when the customer signs in.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path), help=PASSWORD_FILE_HELP)
@click.option("--db", help=DB_HELP)
@manager_option
def add(name: str, role: str, customer: str | None, unchecked: bool, password_file: Path | None, db: str | None,
        manager_uri: str | None) -> None:
    """Add the user NAME with a ROLE; the password comes from a prompt or --password-file. A
    customer account's key must name exactly one customer of the running storage service
    (found through the manager) unless --no-check is given."""
    def check(key: dict[str, Any]) -> None:
        check_customer(_storage(manager_uri), key)

    try:
        created = _accounts(db).add(name, role, _password(password_file), customer, None if unchecked else check)
    except Unavailable as error:
        raise Unavailable(f"{error}, or add the account unchecked with --no-check") from None
    later = f"; its customer key was not checked (it is when {created.name} signs in)" if unchecked and customer else ""
    click.echo(f"user {created.name} ({created.role}) added{later}")


@user.command("password")
@click.argument("name")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path), help=PASSWORD_FILE_HELP)
@click.option("--db", help=DB_HELP)
def password(name: str, password_file: Path | None, db: str | None) -> None:
    """Set a new password for NAME (from a prompt or --password-file); ends their sessions."""
    _accounts(db).set_password(name, _password(password_file))
    click.echo(f"password of {name} changed")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(STAFF))
@click.option("--db", help=DB_HELP)
def role(name: str, role: str, db: str | None) -> None:
    """Give the staff user NAME another ROLE; ends their sessions."""
    changed = _accounts(db).set_role(name, role)
    click.echo(f"user {changed.name} is now {changed.role}")


@user.command("remove")
@click.argument("name")
@click.option("--db", help=DB_HELP)
def remove(name: str, db: str | None) -> None:
    """Remove the user NAME and end their sessions."""
    _accounts(db).remove(name)
    click.echo(f"user {name} removed")


@user.command("list")
@click.option("--check", "checked", is_flag=True,
              help="Ask the running storage service whether each customer account's key still names one "
                   "customer, and say why not after the key (e.g. 'customer gone').")
@click.option("--db", help=DB_HELP)
@manager_option
def list_users(checked: bool, db: str | None, manager_uri: str | None) -> None:
    """List the users, their roles and the customer keys of customer accounts; with --check,
    what is wrong with a key the storage no longer holds (as the Users page marks it)."""
    everyone = _accounts(db).all()
    problems: dict[str, str] = {}
    if checked:
        problems = unlinked_customers(_storage(manager_uri), {one.name: one.customer for one in everyone
                                                              if one.customer})
    for one in everyone:
        key = shown_key(one.customer) if one.customer else ""
        click.echo("\t".join([one.name, one.role, *([key] if key else []),
                              *([problems[one.name]] if one.name in problems else [])]))


def _storage(manager_uri: str | None) -> Any:
    """The running storage service, found through the manager (waiting at most CHECK_TIMEOUT)."""
    return caruso_core.connect(manager_uri, timeout=CHECK_TIMEOUT, operator_secret="").get(STORAGE)


def _accounts(db: str | None) -> Accounts:
    """The front office's users as the deployment of this folder keeps them: in its front
    office's ``db`` (unless ``db`` is given), new passwords hashed at its ``password_cost``."""
    config = deployment.service_config(deployed.FRONTOFFICE)
    return Accounts(open_database(db or config.get("db") or default_sqlite_url("frontoffice.db")),
                    Passwords(Cost.configured(config.get("password_cost"))))


def _password(password_file: Path | None) -> str:
    """The first line of ``password_file``, else the password typed twice at a prompt."""
    if password_file is None:
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        lines = password_file.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigError(f"{password_file}: cannot read the password file ({error.strerror})") from None
    return lines[0] if lines else ""


@frontoffice.group()
def views() -> None:
    """View definitions."""


@views.command("check")
@click.argument("sources", nargs=-1)
@click.option("--deployment", "deployment_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Check the front office of this deployment file (default without SOURCES: ./caruso.toml): "
                   "its views against the storage's model files, the scripts its desk and portal start "
                   "against the context they give.")
@click.option("--storage", "against_storage", is_flag=True,
              help="Also check the views against the running storage service's model.")
@click.option("--manager", "manager_uri", help="Manager URI (default: CARUSO_MANAGER or the default address).")
def check(sources: tuple[str, ...], deployment_file: Path | None, against_storage: bool,
          manager_uri: str | None) -> None:
    """Check view files (files, folders or package:path, merged in the order given) or a
    deployment's front office: references, names in the model, create forms that can make a
    valid object, scripts the desk and portal can start, the portal's knowledge base."""
    problems: list[str] = []
    if sources and deployment_file is None:
        catalog = load(sources)
    else:
        parts = deployed.read(deployment_file or Path(DEFAULT_FILE))
        catalog = load(sources or parts.views)
        objects = parts.objects()
        problems += _model_checks(catalog, objects)
        problems += context_problems(parts.script_sources, parts.desk_scripts, parts.self_service)
        if parts.articles is not None and (parts.articles_given or parts.articles.object in objects):
            problems += articles.problems(parts.articles, objects)
    if against_storage:
        problems += _model_checks(catalog, caruso_core.connect(manager_uri).get(STORAGE).describe()["objects"])
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in the views and scripts of the front office (listed above)")
    kinds: dict[str, int] = {}
    for view in catalog.views.values():
        kinds[view.kind] = kinds.get(view.kind, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "no views"
    click.echo(f"ok: {summary}, {len(catalog.menus)} menu(s)")


def _model_checks(catalog: Catalog, objects: dict[str, Any]) -> list[str]:
    return model_problems(catalog, objects) + create_problems(catalog, objects)
