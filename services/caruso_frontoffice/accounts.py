"""Users of the front office: a name, one role, a password hash.

Roles: ``agent`` (works interactions), ``supervisor`` (watches and steers agents),
``admin`` (runs the installation). A page or view names the roles that may see it.
"""
from __future__ import annotations

import re
import time

import attrs
import sqlalchemy as sa

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_frontoffice.database import sessions, users
from caruso_frontoffice.passwords import check_policy, dummy_hash, hash_password, verify_password

ROLES = ("agent", "supervisor", "admin")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


@attrs.frozen
class User:
    """A signed-in person as pages see them."""

    id: int
    name: str
    role: str

    def may(self, roles: frozenset[str]) -> bool:
        """Whether this user's role is one of ``roles``."""
        return self.role in roles


def check_role(role: str) -> str:
    """``role`` if it is a known role, else InvalidInput naming the known ones."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


class Accounts:
    """The users table: add users, check passwords, find users."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def add(self, name: str, role: str, password: str) -> User:
        """Create a user; InvalidInput for a bad name, role or password, Conflict if the name is taken."""
        name = name.strip().lower() if isinstance(name, str) else ""
        if not NAME_PATTERN.match(name):
            raise InvalidInput("a user name is 1 to 64 of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit")
        check_role(role)
        check_policy(password)
        try:
            with self._engine.begin() as connection:
                row_id = connection.execute(users.insert().values(
                    name=name, role=role, password=hash_password(password),
                    created_at=time.time())).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            raise Conflict(f"a user named {name!r} exists already") from None
        return User(row_id, name, role)

    def set_password(self, name: str, password: str) -> None:
        """Give the user ``name`` a new password and end their sessions; NotFound if unknown."""
        check_policy(password)
        with self._engine.begin() as connection:
            user_id = self._id(connection, name)
            connection.execute(users.update().where(users.c.id == user_id).values(password=hash_password(password)))
            connection.execute(sessions.delete().where(sessions.c.user_id == user_id))

    def remove(self, name: str) -> None:
        """Delete the user ``name`` and their sessions; NotFound if unknown."""
        with self._engine.begin() as connection:
            user_id = self._id(connection, name)
            connection.execute(sessions.delete().where(sessions.c.user_id == user_id))
            connection.execute(users.delete().where(users.c.id == user_id))

    def _id(self, connection: sa.Connection, name: str) -> int:
        user_id = connection.execute(sa.select(users.c.id).where(users.c.name == name.strip().lower())).scalar()
        if user_id is None:
            raise NotFound(f"no user named {name!r}")
        return user_id

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else None (same cost for unknown names)."""
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(users).where(users.c.name == name.strip().lower())).first()
        if row is None:
            verify_password(password, dummy_hash())
            return None
        return User(row.id, row.name, row.role) if verify_password(password, row.password) else None

    def get(self, user_id: int) -> User | None:
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(users).where(users.c.id == user_id)).first()
        return User(row.id, row.name, row.role) if row else None

    def all(self) -> list[User]:
        """Every user, by name."""
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(users).order_by(users.c.name)).all()
        return [User(row.id, row.name, row.role) for row in rows]

    def count(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
