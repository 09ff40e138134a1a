"""The manager's registrations and where they persist.

A :class:`Registration` is one running instance of a service as the manager knows
it. Everything but the lease clock persists through :class:`RegistryStore` (one
SQLAlchemy table, SQLite by default), so a restarted manager knows every instance
that was registered and gives each a fresh lease to renew.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, ContextManager

import attrs
import sqlalchemy as sa

from caruso_core import databases

ACTIVE, STANDBY = "active", "standby"

_metadata = sa.MetaData()
_table = sa.Table(
    "caruso_registrations", _metadata,
    sa.Column("instance_id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("interface", sa.String(80), nullable=False),
    sa.Column("version", sa.String(40), nullable=False),
    sa.Column("properties", sa.Text, nullable=False),
    sa.Column("uri", sa.String(300), nullable=False),
    sa.Column("control_uri", sa.String(300), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("lease_token", sa.String(64), nullable=False),
    sa.Column("control_token", sa.String(64), nullable=False),
    sa.Column("registered_at", sa.Float, nullable=False),
    sa.Column("trusted", sa.Boolean, nullable=False, server_default=sa.false()),
)


def ranking_of(properties: dict[str, Any]) -> int:
    """The ``ranking`` property as a whole number (0 when absent or not a number)."""
    try:
        return int(properties.get("ranking", 0))
    except (TypeError, ValueError):
        return 0


@attrs.define
class Registration:
    """One registered instance. Tokens never leave the manager except to their host."""

    instance_id: str
    name: str
    interface: str
    version: str
    properties: dict[str, Any]
    uri: str
    control_uri: str
    state: str
    sequence: int
    lease_token: str
    control_token: str
    registered_at: float = attrs.field(factory=time.time)
    trusted: bool = False
    expires: float = 0.0
    healthy: bool = True

    @property
    def ranking(self) -> int:
        return ranking_of(self.properties)

    @property
    def order(self) -> tuple[bool, int, int]:
        """Sort key: trusted first, then higher ranking, then earlier registration."""
        return (not self.trusted, -self.ranking, self.sequence)

    def matches(self, key: str, properties: dict[str, Any]) -> bool:
        """Whether ``key`` (a name, or an interface if it has '/') and the property filter match."""
        field = self.interface if "/" in key else self.name
        return field == key and all(self.properties.get(k) == v for k, v in properties.items())

    def public(self) -> dict[str, Any]:
        """What clients may see: everything but the tokens and the lease clock."""
        return {"instance_id": self.instance_id, "name": self.name, "interface": self.interface,
                "version": self.version, "properties": dict(self.properties), "uri": self.uri,
                "state": self.state, "healthy": self.healthy, "ranking": self.ranking,
                "registered_at": self.registered_at, "trusted": self.trusted}


def overlong(registration: "Registration") -> str | None:
    """The first text field of ``registration`` longer than its column allows, as
    ``"FIELD (at most N characters)"``; None when all fit."""
    for column in _table.columns:
        limit = getattr(column.type, "length", None)
        value = getattr(registration, column.name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            return f"{column.name} (at most {limit} characters)"
    return None


def create_tables(connection: sa.Connection) -> None:
    """Create the registry's table where it is missing."""
    _metadata.create_all(connection)


class RegistryStore:
    """Persists registrations in a database (created on first use).

    ``writing`` (default: a transaction of its own engine) gives the connection each write
    runs on, in a transaction: a manager of a group writes only on its lock's connection.
    """

    def __init__(self, url: str, writing: Callable[[], ContextManager[sa.Connection]] | None = None) -> None:
        self._engine = databases.engine(url)
        self._writing = writing or self._engine.begin
        _metadata.create_all(self._engine)
        if "trusted" not in {c["name"] for c in sa.inspect(self._engine).get_columns(_table.name)}:
            with self._engine.begin() as connection:      # a registry of an older version
                connection.execute(sa.text(f"ALTER TABLE {_table.name} ADD COLUMN trusted BOOLEAN "
                                           "NOT NULL DEFAULT FALSE"))

    def load(self) -> list[Registration]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(_table).order_by(_table.c.sequence)).mappings()
            return [Registration(**{**row, "properties": json.loads(row["properties"])}) for row in rows]

    def next_sequence(self) -> int:
        with self._engine.connect() as connection:
            return (connection.execute(sa.select(sa.func.max(_table.c.sequence))).scalar() or 0) + 1

    def save(self, *registrations: Registration) -> None:
        """Insert or replace the given registrations in one transaction."""
        with self._writing() as connection:
            for registration in registrations:
                values = {column.name: getattr(registration, column.name) for column in _table.columns}
                values["properties"] = json.dumps(registration.properties, sort_keys=True)
                connection.execute(_table.delete().where(_table.c.instance_id == registration.instance_id))
                connection.execute(_table.insert().values(**values))

    def delete(self, instance_id: str) -> None:
        with self._writing() as connection:
            connection.execute(_table.delete().where(_table.c.instance_id == instance_id))

    def close(self) -> None:
        self._engine.dispose()

