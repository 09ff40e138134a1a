"""Users of the front office: a name, one role, a password hash.

Roles: ``agent`` (works interactions), ``supervisor`` (watches and steers agents),
``admin`` (runs the installation): the staff, who see internal pages; ``customer``
(uses the self-service portal only), whose account holds the key of their customer
record, e.g. ``{"customer_id": 42}``, given to the dialog scripts they run as context.
A page or view names the roles that may see it.
"""
from __future__ import annotations

import json
import re
import time
from typing import Any

import attrs
import sqlalchemy as sa

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_frontoffice.database import customers, sessions, users
from caruso_frontoffice.passwords import Passwords, check_policy

STAFF = ("agent", "supervisor", "admin")
ROLES = (*STAFF, "customer")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
KEY_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,39})=([A-Za-z0-9._@+-]{1,80})$")


@attrs.frozen
class User:
    """A signed-in person as pages see them."""

    id: int
    name: str
    role: str
    customer: dict[str, Any] | None = attrs.field(default=None, eq=False)

    def may(self, roles: frozenset[str]) -> bool:
        """Whether this user's role is one of ``roles``."""
        return self.role in roles


def parse_customer_key(text: str) -> dict[str, Any]:
    """``customer_id=42`` (pairs separated by commas) as ``{"customer_id": 42}``; digits
    become integers. InvalidInput naming the expected form otherwise."""
    key: dict[str, Any] = {}
    for part in (text or "").split(","):
        found = KEY_PART.match(part.strip())
        if not found:
            raise InvalidInput(f"customer key {text!r}: write it as name=value pairs separated by commas, "
                               "e.g. customer_id=42")
        name, value = found.groups()
        key[name] = int(value) if value.isdigit() and len(value) < 16 else value
    return key


def check_role(role: str) -> str:
    """``role`` if it is a known role, else InvalidInput naming the known ones."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


class Accounts:
    """The users table: add users, check passwords, find users. Passwords are hashed by
    ``passwords`` (scrypt at its cost)."""

    def __init__(self, engine: sa.Engine, passwords: Passwords | None = None) -> None:
        self._engine = engine
        self.passwords = passwords or Passwords()

    def add(self, name: str, role: str, password: str, customer: str | None = None) -> User:
        """Create a user; a customer account needs ``customer``, their customer key (see
        :func:`parse_customer_key`), no other role has one. InvalidInput for a bad name, role,
        password or key, Conflict if the name is taken."""
        name = name.strip().lower() if isinstance(name, str) else ""
        if not NAME_PATTERN.match(name):
            raise InvalidInput("a user name is 1 to 64 of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit")
        check_role(role)
        if (role == "customer") != bool(customer):
            raise InvalidInput("a customer account needs its customer key (e.g. customer_id=42), "
                               "and only a customer account has one")
        key = parse_customer_key(customer) if customer else None
        check_policy(password)
        try:
            with self._engine.begin() as connection:
                row_id = connection.execute(users.insert().values(
                    name=name, role=role, password=self.passwords.hash(password),
                    created_at=time.time())).inserted_primary_key[0]
                if key is not None:
                    connection.execute(customers.insert().values(user_id=row_id, customer_key=json.dumps(key)))
        except sa.exc.IntegrityError:
            raise Conflict(f"a user named {name!r} exists already") from None
        return User(row_id, name, role, key)

    def set_password(self, name: str, password: str) -> None:
        """Give the user ``name`` a new password and end their sessions; NotFound if unknown."""
        check_policy(password)
        with self._engine.begin() as connection:
            user_id = self._id(connection, name)
            connection.execute(users.update().where(users.c.id == user_id).values(password=self.passwords.hash(password)))
            connection.execute(sessions.delete().where(sessions.c.user_id == user_id))

    def remove(self, name: str) -> None:
        """Delete the user ``name`` and their sessions; NotFound if unknown."""
        with self._engine.begin() as connection:
            user_id = self._id(connection, name)
            connection.execute(sessions.delete().where(sessions.c.user_id == user_id))
            connection.execute(customers.delete().where(customers.c.user_id == user_id))
            connection.execute(users.delete().where(users.c.id == user_id))

    def _id(self, connection: sa.Connection, name: str) -> int:
        user_id = connection.execute(sa.select(users.c.id).where(users.c.name == name.strip().lower())).scalar()
        if user_id is None:
            raise NotFound(f"no user named {name!r}")
        return user_id

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else None (same cost for unknown names). A
        stored hash made at another cost is replaced by one at the current cost.
        HashingBusy when no hashing slot came free in time."""
        with self._engine.connect() as connection:
            row = connection.execute(_SELECT.where(users.c.name == name.strip().lower())).first()
        if row is None:
            self.passwords.verify_nobody(password)
            return None
        if not self.passwords.verify(password, row.password):
            return None
        if self.passwords.outdated(row.password):
            with self._engine.begin() as connection:   # unless the password changed meanwhile
                connection.execute(users.update().where(users.c.id == row.id, users.c.password == row.password)
                                   .values(password=self.passwords.hash(password)))
        return _user(row)

    def get(self, user_id: int) -> User | None:
        with self._engine.connect() as connection:
            row = connection.execute(_SELECT.where(users.c.id == user_id)).first()
        return _user(row) if row else None

    def all(self) -> list[User]:
        """Every user, by name."""
        with self._engine.connect() as connection:
            rows = connection.execute(_SELECT.order_by(users.c.name)).all()
        return [_user(row) for row in rows]

    def count(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()


_SELECT = sa.select(users, customers.c.customer_key).select_from(users.outerjoin(customers))


def _user(row: sa.Row) -> User:
    return User(row.id, row.name, row.role, json.loads(row.customer_key) if row.customer_key else None)
