"""The ``caruso`` command. Components add sub-commands through the ``caruso.commands`` group.

A user error (any :class:`CarusoError`) prints ``error: <one line>`` and exits 1. The
current folder is importable (``caruso serve mymodule:MyService`` in a project folder).
"""
from __future__ import annotations

import gc
import json
import logging
import math
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import click

import caruso_core
from caruso_core import children, control, plugins
from caruso_core.errors import CarusoError, ConfigError, NotAuthorized


class CarusoGroup(click.Group):
    """The root group: built-in commands plus the ``caruso.commands`` entry points, loaded lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(plugins.group(plugins.COMMANDS_GROUP)))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        entry = plugins.group(plugins.COMMANDS_GROUP).get(name) if command is None else None
        if entry is not None:
            try:
                command = entry.load()
            except Exception as error:  # a broken component must not take the whole CLI down
                click.echo(f"warning: command {name!r} ({entry.value}) cannot be loaded: "
                           f"{type(error).__name__}: {error}", err=True)
        return command


def parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, Any]:
    """``key=value`` options to a dict; values are JSON when they parse as JSON, else text."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {pair!r} is not key=value")
        try:
            result[key] = json.loads(raw)
        except json.JSONDecodeError:
            result[key] = raw
    return result


def lifeline_option(command: Any) -> Any:
    """The hidden ``--lifeline FD`` of a long-running command: it stops when its parent has
    ended (see :mod:`caruso_core.children`)."""
    return click.option("--lifeline", type=int, hidden=True, expose_value=False,
                        callback=lambda _context, _option, fd: None if fd is None else children.stop_with_parent(fd),
                        help="Stop once this pipe's other end is closed (for supervisors).")(command)


def manager_option(command: Any) -> Any:
    """The ``--manager`` option of a command that talks to a service manager (``manager_uri``)."""
    return click.option("--manager", "manager_uri", metavar="HOST:PORT",
                        help="The service manager: HOST:PORT or a Pyro5 URI "
                             "(default: CARUSO_MANAGER, else the manager of ./caruso.toml, "
                             "else 127.0.0.1:7717).")(command)


class Finite(click.FloatRange):
    """A ``click.FloatRange`` that also refuses ``nan`` and infinities (which it lets through)."""

    name = "finite number"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def port_options(command: Any) -> Any:
    """``--manager-port`` and ``--web-port`` of a command that places a solution."""
    port = click.IntRange(1, 65535)
    command = click.option("--web-port", type=click.IntRange(1, 65534), metavar="PORT",
                           help="The front office's port; its web chat listens on the next one.")(command)
    return click.option("--manager-port", type=port, metavar="PORT",
                        help="The service manager's port (default: CARUSO_MANAGER's, else 7717).")(command)


def emit(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    """Print rows as JSON or as an aligned table of ``columns``."""
    if as_json:
        click.echo(json.dumps(rows, indent=2, sort_keys=True, default=str))
        return
    table = [columns] + [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items())) or "-"
    return "-" if value is None else str(value)


@click.group(cls=CarusoGroup)
@click.version_option(caruso_core.__version__, prog_name="caruso")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
def cli(verbose: bool) -> None:
    """caruso: assemble a CRM front office from components that find each other at run time."""
    from caruso_core.deployment import tls_here

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    tls = None if "PYRO_SSL" in os.environ else tls_here()
    if tls is not None:         # a command run in the folder of a deployment with TLS speaks it
        tls.apply()


INSECURE_HELP = ("Run without a deployment secret: any local user can then connect, register, "
                 "swap and read what the services hold.")


def deployment_secrets(insecure: bool) -> tuple[str | None, str | None]:
    """The deployment and operator secrets (created in the data folder when missing), or
    none with ``insecure`` (after a warning)."""
    from caruso_core import credentials

    if insecure:
        click.echo("warning: running without a deployment secret (--insecure): any local user can "
                   "connect, register services, swap them and read what they hold", err=True)
        return "", None
    return credentials.ensure()


@cli.command()
@click.option("--uri", envvar="CARUSO_MANAGER", help="Where to listen (a Pyro5 URI of object caruso.manager).")
@click.option("--db", envvar="CARUSO_MANAGER_DB",
              help="SQLAlchemy URL of the registrations (default: data/manager.db; its password keeps off "
                   "command lines in CARUSO_MANAGER_DB).")
@click.option("--lease", type=Finite(min=0.2), default=10.0, show_default=True,
              help="Seconds a registration lives without renewal before it is marked unhealthy.")
@click.option("--insecure", is_flag=True, help=INSECURE_HELP)
@click.option("--ready-json", is_flag=True, hidden=True, help="Also print a JSON line once serving (for supervisors).")
@lifeline_option
def manager(uri: str | None, db: str | None, lease: float, insecure: bool, ready_json: bool) -> None:
    """Run the service manager (Ctrl-C stops it; registrations persist).

    It requires the deployment secret (CARUSO_SECRET, else data/secret) of every peer
    and the operator secret (CARUSO_OPERATOR_SECRET, else data/operator.secret) for
    operator actions; both files are created, mode 0600, when missing.
    """
    from caruso_core import manager as manager_module

    def ready(served: str) -> None:
        click.echo(f"manager listening at {served}")
        if ready_json:
            click.echo(children.ready_line(uri=served))

    secret, operator = deployment_secrets(insecure)
    manager_module.serve(uri, db, lease=lease, secret=secret or "", operator_secret=operator, on_ready=ready)


@cli.command()
@click.argument("reference")
@click.option("--name", help="Register under this name instead of the class's.")
@click.option("--version", "version_", metavar="VERSION", help="Register with this version.")
@click.option("-p", "--property", "properties", multiple=True, metavar="KEY=VALUE",
              help="A property to register with (repeatable), e.g. -p ranking=10.")
@click.option("-c", "--config", "config_pairs", multiple=True, metavar="KEY=VALUE",
              help="A constructor argument (repeatable); values are JSON or text.")
@click.option("--config-json", help="Constructor arguments as one JSON object (nothing secret: "
              "a command line is visible to every local user).")
@click.option("--config-file", type=click.File("r", encoding="utf-8"),
              help="Constructor arguments as one JSON object read from a file ('-': standard input).")
@manager_option
@click.option("--host", help="Address to bind (default: CARUSO_BIND or 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port to bind (default: any free port).")
@click.option("--replace", is_flag=True, help="Hot-swap: take over from the active instance, which then exits.")
@click.option("--standby", is_flag=True, help="Register without taking calls, ready for 'caruso swap'.")
@click.option("--drain-timeout", type=Finite(0, 3600), default=30.0, show_default=True,
              help="Seconds in-flight calls may take to finish when stopping or swapping (at most 3600).")
@click.option("--ready-json", is_flag=True, hidden=True, help="Also print a JSON line once serving (for supervisors).")
@lifeline_option
def serve(reference: str, name: str | None, version_: str | None, properties: tuple[str, ...],
          config_pairs: tuple[str, ...], config_json: str | None, config_file: Any, manager_uri: str | None,
          host: str | None, port: int, replace: bool, standby: bool, drain_timeout: float,
          ready_json: bool) -> None:
    """Host the service REFERENCE (package.module:Class or an installed service name).

    Registering a standby, replacing the active instance or outranking it needs the
    operator secret (CARUSO_OPERATOR_SECRET, else data/operator.secret) or the grant of
    the name (CARUSO_GRANT, given by 'caruso up').
    """
    from caruso_core import credentials
    from caruso_core.host import ServiceHost

    if replace and standby:
        raise ConfigError("--replace and --standby exclude each other")
    config: dict[str, Any] = {}
    for source, text in (("--config-file", config_file.read() if config_file else None),
                         ("--config-json", config_json)):
        if text is not None:
            config.update(_json_object(text, source))
    config.update(parse_pairs(config_pairs, "--config"))
    if credentials.deployment_secret() is None:
        click.echo("warning: no deployment secret (CARUSO_SECRET or data/secret): this service accepts "
                   "connections from any local user", err=True)
    host_ = ServiceHost(plugins.load_service_class(reference), config, name=name, version=version_,
                        properties=parse_pairs(properties, "--property"), manager=manager_uri,
                        host=host, port=port, standby=standby, replace=replace, drain_timeout=drain_timeout)
    def ready(served: ServiceHost) -> None:
        # what the process loaded to start lives as long as it: full collections then skip
        # it (they took tens of ms each, every few large answers, in a storage service)
        gc.freeze()
        click.echo(f"serving {served.spec.name} {served.spec.version} as {served.instance_id} at {served.uri}")
        if ready_json:
            click.echo(children.ready_line(name=served.spec.name, version=served.spec.version,
                                           instance_id=served.instance_id, uri=served.uri))

    host_.run(on_ready=ready)


def _json_object(text: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{source} must be a JSON object")
    return value


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@manager_option
def services(as_json: bool, manager_uri: str | None) -> None:
    """List the registered service instances."""
    rows = caruso_core.connect(manager_uri).services()
    emit(rows, as_json, ["instance_id", "name", "interface", "version", "state", "healthy", "uri", "properties"])


@cli.command()
@click.argument("name")
@click.argument("instance_id", required=False)
@click.option("--version", "version_", metavar="VERSION", help="The new instance's version (default: the deployment's).")
@click.option("--use", metavar="REFERENCE", help="Another implementation (entry point or module:Class) for the name.")
@click.option("-c", "--config", "config_pairs", multiple=True, metavar="KEY=VALUE",
              help="Configuration that differs from the deployment's (repeatable; values in JSON or text).")
@click.option("--back", is_flag=True, help="Make the instance the last swap replaced active again.")
@manager_option
def swap(name: str, instance_id: str | None, version_: str | None, use: str | None, config_pairs: tuple[str, ...],
         back: bool, manager_uri: str | None) -> None:
    """Hot-swap service NAME. With INSTANCE_ID, make that standby active. Without it, the
    running 'caruso up' starts a new instance with the deployment's configuration (changed
    by --version, --use, -c) and swaps it in; --back returns to the one it replaced. The
    instance replaced stays as a standby."""
    client = caruso_core.connect(manager_uri)
    if instance_id is not None:
        if version_ or use or config_pairs or back:
            raise ConfigError("swap NAME INSTANCE_ID takes none of --version, --use, -c, --back: "
                              "those ask 'caruso up' for a new instance, without INSTANCE_ID")
        result = client.swap(name, instance_id)
        previous = result["previous"]["instance_id"] if result["previous"] else "none"
        click.echo(f"{name}: {result['active']['instance_id']} is active (was {previous})")
        return
    operator = client.operator_secret
    if not operator:
        raise NotAuthorized("swapping needs the operator secret: run this as the deployment's user "
                            "(data folder's operator.secret) or set CARUSO_OPERATOR_SECRET")
    supervisor = control.supervisor_of(client, name)
    if back:
        if version_ or use or config_pairs:
            raise ConfigError("--back takes none of --version, --use, -c")
        result = supervisor.back(name, operator)
    else:
        result = supervisor.swap(name, operator, version_, use, parse_pairs(config_pairs, "configuration"))
    click.echo(f"{name}: {result['active']} is active; {result['standby']} stands by ('caruso swap {name} --back')")


@cli.command()
@click.argument("instance_id")
@manager_option
def unregister(instance_id: str, manager_uri: str | None) -> None:
    """Remove INSTANCE_ID's registration and retire its host (operator)."""
    caruso_core.connect(manager_uri).unregister(instance_id)
    click.echo(f"{instance_id} unregistered")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@manager_option
def health(as_json: bool, manager_uri: str | None) -> None:
    """Ask every registered instance for its health; exit 1 if any is not ok. Run in a
    deployment's folder (its manager found from there), a service of ./caruso.toml that
    nothing registers is listed as missing."""
    rows = caruso_core.connect(manager_uri).health()
    for row in rows:
        row["status"] = row["health"].get("status")
        if not as_json:
            row["detail"] = _health_detail(row["health"])
    rows += _missing(rows) if manager_uri is None and not os.environ.get("CARUSO_MANAGER") else []
    emit(rows, as_json, ["instance_id", "name", "version", "state", "status", "detail"])
    if any(row["status"] != "ok" for row in rows):
        sys.exit(1)


def _missing(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A row for each service of ./caruso.toml no instance in ``rows`` serves (none without the file)."""
    from caruso_core.deployment import DEFAULT_FILE, load

    if not Path(DEFAULT_FILE).is_file():
        return []
    try:
        services = load().services
    except ConfigError as error:                # a file being edited: the health of what runs still counts
        click.echo(f"warning: services missing from {DEFAULT_FILE} not checked: {error}", err=True)
        return []
    registered = {row["name"] for row in rows}
    expected = {entry.spec.name: entry.spec.version for entry in services}
    return [{"instance_id": "-", "name": name, "version": version, "state": "missing", "status": "missing",
             "detail": f"in {DEFAULT_FILE}, but no instance is registered", "health": {}}
            for name, version in expected.items() if name not in registered]


def _health_detail(health: dict[str, Any], width: int = 160) -> str:
    """What a service's health says besides its status, on one line: ``reason`` (or ``error``)
    first, then the other plain values as ``name=value``, cut at ``width`` characters."""
    reason = "; ".join(" ".join(str(health[key]).split()) for key in ("reason", "error") if health.get(key))
    values = " ".join(f"{key}={' '.join(str(value).split())}" for key, value in health.items()
                      if key not in ("status", "reason", "error") and isinstance(value, (str, int, float, bool)))
    line = "; ".join(part for part in (reason, values) if part)
    return line if len(line) <= width else line[:width - 1] + "…"


@cli.command()
@manager_option
def watch(manager_uri: str | None) -> None:
    """Print manager events as they happen (one JSON object a line) until Ctrl-C."""
    client = caruso_core.connect(manager_uri)
    click.echo(f"watching {client.uri}; Ctrl-C stops", err=True)

    def said(error: CarusoError | None) -> None:
        click.echo(f"the manager does not answer ({error}); waiting for it" if error else "the manager answers again",
                   err=True)
    for event in client.watch(unreachable=said):
        click.echo(json.dumps(event, sort_keys=True), nl=True)


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--insecure", is_flag=True, help=INSECURE_HELP)
@click.option("--host", "host", metavar="NAME",
              help="Start only the part of FILE placed on its host NAME ([hosts.NAME]).")
@port_options
@lifeline_option
def up(file: str | None, insecure: bool, host: str | None, manager_port: int | None, web_port: int | None) -> None:
    """Start a solution: the manager and the services of FILE (default: caruso.toml or the built-in).

    The deployment secret and the operator secret are made in the data folder (mode
    0600) when missing; every command run in this folder then uses them. A deployment
    on several hosts starts on each with --host NAME (each host needs the same secrets).
    """
    from caruso_core.deployment import hold_folder, load
    from caruso_core.supervisor import Supervisor

    if file is not None:                 # its relative paths and data folder are its folder's
        if not Path(file).is_file():
            raise ConfigError(f"{file}: no such file")
        os.chdir(Path(file).resolve().parent)
        file = Path(file).name
    deployment = load(file, manager_port=manager_port, web_port=web_port).on(host)
    held = hold_folder(deployment.part)
    try:
        deployment_secrets(insecure)
        Supervisor(deployment, echo=click.echo, insecure=insecure).run()
    finally:
        os.close(held)


@cli.group()
def certs() -> None:
    """Certificates for TLS between hosts: a private CA and the host certificates it signs."""


@certs.command("ca")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--name", default="caruso CA", show_default=True, help="The CA's common name.")
@click.option("--days", type=int, default=3650, show_default=True, help="Days the CA certificate is valid.")
@click.option("--force", is_flag=True, help="Replace a CA in FOLDER.")
def certs_ca(folder: str, name: str, days: int, force: bool) -> None:
    """Make a private CA in FOLDER: ca.crt (give it to every host) and ca.key (keep it on one machine)."""
    from caruso_core.certificates import make_ca

    certificate, key = make_ca(Path(folder), common_name=name, days=days, force=force)
    click.echo(f"wrote {certificate} and {key} (mode 0600)")


@certs.command("host")
@click.argument("name")
@click.option("--address", "addresses", multiple=True, required=True, metavar="IP_OR_DNS",
              help="An address peers connect to this host by (repeatable).")
@click.option("--ca", "ca_folder", required=True, type=click.Path(file_okay=False),
              help="The CA folder ('caruso certs ca').")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write NAME.crt and NAME.key to.")
@click.option("--days", type=int, default=825, show_default=True, help="Days the certificate is valid.")
@click.option("--force", is_flag=True, help="Replace NAME's files in --out.")
def certs_host(name: str, addresses: tuple[str, ...], ca_folder: str, out: str, days: int, force: bool) -> None:
    """Make host NAME's certificate and key, signed by the CA, for its daemons and its proxies."""
    from caruso_core.certificates import make_host

    certificate, key = make_host(name, list(addresses), Path(ca_folder), Path(out), days=days, force=force)
    click.echo(f"wrote {certificate} and {key} (mode 0600) for {', '.join(addresses)}")


@cli.command()
@click.argument("kind", type=click.Choice(["service", "wrapper", "vertical"]))
@click.argument("name")
@click.option("--into", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder to create the package in.")
def new(kind: str, name: str, into: str) -> None:
    """Create a package skeleton for a service, a legacy wrapper or a vertical, with passing tests."""
    from caruso_core.scaffold import create

    target = create(kind, name, Path(into))
    click.echo(f"created {target}: 'cd {target} && pip install -e . && pytest' to start")


@cli.group()
def vertical() -> None:
    """Installed verticals: bundles that configure a solution for one market."""


@vertical.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def vertical_list(as_json: bool) -> None:
    """List the installed verticals."""
    from caruso_core.verticals import installed

    rows = [{"name": v.name, "version": v.version, "depends": ",".join(v.depends) or "-",
             "description": v.description} for v in sorted(installed().values(), key=lambda v: v.name)]
    emit(rows, as_json, ["name", "version", "depends", "description"])


@vertical.command("show")
@click.argument("name")
def vertical_show(name: str) -> None:
    """Print the deployment a vertical makes (TOML), its dependencies applied."""
    import tomli_w

    from caruso_core.verticals import deployment_data

    click.echo(tomli_w.dumps(deployment_data([name])), nl=False)


@vertical.command("install")
@click.argument("names", nargs=-1, required=True)
@click.option("--into", type=click.Path(file_okay=False), default=".", show_default=True,
              help="The deployment folder; its caruso.toml is replaced (its ports are kept).")
@port_options
def vertical_install(names: tuple[str, ...], into: str, manager_port: int | None, web_port: int | None) -> None:
    """Write the deployment file for the default services plus the verticals NAMES, on the
    manager's and the front office's ports and in the time zone of the caruso.toml it
    replaces unless told other ports."""
    from caruso_core.deployment import DEFAULT_FILE, placed_ports, read_toml
    from caruso_core.verticals import write_deployment

    existing = Path(into) / DEFAULT_FILE
    kept_manager, kept_web = placed_ports(existing)
    written = write_deployment(Path(into), list(names), manager_port=manager_port or kept_manager,
                               web_port=web_port or kept_web,
                               timezone=read_toml(existing).get("timezone") if existing.is_file() else None)
    click.echo(f"wrote {written}")


@cli.command()
@click.argument("name")
@click.option("--vertical", "verticals", multiple=True, help="A vertical to start from (repeatable).")
@port_options
def init(name: str, verticals: tuple[str, ...], manager_port: int | None, web_port: int | None) -> None:
    """Create the deployment folder NAME for a company, with its own copies of the verticals'
    model, scripts and views to edit; then 'cd NAME && caruso up'."""
    from caruso_core import credentials
    from caruso_core.verticals import write_deployment

    folder = Path(name)
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError(f"{folder} exists and is not empty; choose another name")
    existed = folder.exists()
    try:
        write_deployment(folder, list(verticals), manager_port=manager_port, web_port=web_port, own_copies=True)
        credentials.make_files(folder / "data")
    except BaseException:                   # nothing half-made is left behind: the folder was empty or new
        if folder.exists():
            for made in folder.iterdir():
                if made.is_dir() and not made.is_symlink():
                    shutil.rmtree(made)
                else:
                    made.unlink()
            if not existed:
                folder.rmdir()
        raise
    copied = sorted(p.name for p in folder.iterdir() if p.name not in ("caruso.toml", "data"))
    click.echo(f"created {folder}/caruso.toml" + (f", the verticals' {', '.join(copied)} to edit" if copied else "")
               + f" and its secrets in {folder}/data (mode 0600); start it with: cd {shlex.quote(str(folder))} && caruso up")


def failure(error: BaseException) -> tuple[str, int] | None:
    """What the console script says (one line) and its exit code for an exception a user's
    mistake causes; None for anything else (a bug: its traceback is worth seeing)."""
    if isinstance(error, CarusoError):
        return f"error: {error}", 1
    if isinstance(error, (click.exceptions.Abort, KeyboardInterrupt)):
        return "aborted", 130
    if isinstance(error, click.ClickException):
        return f"error: {error.format_message()}", error.exit_code
    return None


def main() -> None:
    """Entry point of the ``caruso`` console script."""
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        cli.main(standalone_mode=False)
    except (CarusoError, click.ClickException, click.exceptions.Abort, KeyboardInterrupt) as error:
        said, code = failure(error) or ("", 1)
        click.echo(said, err=True)
        sys.exit(code)
