"""The agents' SIP phone accounts and their registrations, in the component's database.

Contract of :class:`Phones`: an agent has at most one account (a SIP user name, unique
among agents); its password is never stored, only the digest hash HA1 =
MD5(user:realm:password) of RFC 2617, which is all a registrar needs to check a digest
and is worthless in another realm. Each account has at most ``max_contacts``
registered contacts; a new one beyond that replaces the one that expires first. Every
read comes from the database, so two instances of the component sharing it (a drain
swap) see the same registrations. Expired contacts are never returned and are deleted
as later registrations of the account are stored.
"""
from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import attrs
import sqlalchemy as sa

from caruso_core import databases
from caruso_core.errors import Conflict, InvalidInput, NotFound

USERNAME = re.compile(r"^[A-Za-z0-9._~+-]{1,64}$")
AGENT = re.compile(r"^[^\x00-\x1f]{1,64}$")
MAX_PASSWORD = 128
MAX_CONTACT = 512

metadata = sa.MetaData()
accounts = sa.Table(
    "telephony_phones", metadata,
    sa.Column("agent", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("ha1", sa.String(32), nullable=False),
    sa.Column("realm", sa.String(128), nullable=False),
)
bindings = sa.Table(
    "telephony_registrations", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("contact", sa.String(MAX_CONTACT), primary_key=True),
    sa.Column("expires", sa.Float, nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
)


def ha1(username: str, realm: str, password: str) -> str:
    """The digest hash stored for an account (hex)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode("utf-8")).hexdigest()


@attrs.frozen
class Account:
    agent: str
    username: str
    ha1: str
    realm: str


class Phones:
    """See the module's contract; ``url`` is a database URL (SQLite by default)."""

    def __init__(self, url: str, realm: str, max_contacts: int = 5) -> None:
        self.engine = databases.engine(url)
        metadata.create_all(self.engine)
        self.realm = realm
        self.max_contacts = max_contacts

    def close(self) -> None:
        self.engine.dispose()

    # -- accounts ---------------------------------------------------------------------------

    def set_phone(self, agent: str, username: str, password: str) -> None:
        """Create or replace ``agent``'s account; its registrations go if the user name changes."""
        if not isinstance(agent, str) or not AGENT.match(agent):
            raise InvalidInput("an agent id is 1 to 64 printable characters")
        if not isinstance(username, str) or not USERNAME.match(username):
            raise InvalidInput("a SIP user name is 1 to 64 letters, digits or . _ ~ + -")
        if not isinstance(password, str) or not 0 < len(password) <= MAX_PASSWORD:
            raise InvalidInput(f"a SIP password is 1 to {MAX_PASSWORD} characters")
        with self.engine.begin() as connection:
            owner = connection.execute(sa.select(accounts.c.agent).where(accounts.c.username == username)).scalar()
            if owner is not None and owner != agent:
                raise Conflict(f"SIP user name {username!r} belongs to another agent")
            old = connection.execute(sa.select(accounts.c.username).where(accounts.c.agent == agent)).scalar()
            if old is not None and old != username:
                connection.execute(bindings.delete().where(bindings.c.username == old))
            connection.execute(accounts.delete().where(accounts.c.agent == agent))
            connection.execute(accounts.insert().values(agent=agent, username=username, realm=self.realm,
                                                        ha1=ha1(username, self.realm, password)))

    def remove_phone(self, agent: str) -> None:
        with self.engine.begin() as connection:
            username = connection.execute(sa.select(accounts.c.username).where(accounts.c.agent == agent)).scalar()
            if username is None:
                raise NotFound(f"agent {agent!r} has no SIP phone")
            connection.execute(bindings.delete().where(bindings.c.username == username))
            connection.execute(accounts.delete().where(accounts.c.agent == agent))

    def account(self, username: str) -> Account | None:
        """The account of a SIP user name in this realm, if any."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(accounts).where(accounts.c.username == username,
                                                               accounts.c.realm == self.realm)).first()
        return Account(row.agent, row.username, row.ha1, row.realm) if row else None

    def phones(self) -> list[dict[str, Any]]:
        """Every account: ``agent``, ``username`` and its live ``contacts`` (``contact``,
        ``expires_in`` seconds)."""
        now = time.time()
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(accounts).order_by(accounts.c.agent)).all()
            live = connection.execute(sa.select(bindings).where(bindings.c.expires > now)
                                      .order_by(bindings.c.expires)).all()
        contacts: dict[str, list[dict[str, Any]]] = {}
        for binding in live:
            contacts.setdefault(binding.username, []).append(
                {"contact": binding.contact, "expires_in": round(binding.expires - now)})
        return [{"agent": row.agent, "username": row.username, "contacts": contacts.get(row.username, [])}
                for row in rows]

    # -- registrations ------------------------------------------------------------------------

    def contacts(self, username: str) -> list[str]:
        """The live contacts of a user name, the latest registered last."""
        with self.engine.connect() as connection:
            return list(connection.execute(
                sa.select(bindings.c.contact).where(bindings.c.username == username, bindings.c.expires > time.time())
                .order_by(bindings.c.expires)).scalars())

    def agent_contacts(self, agent: str) -> list[str]:
        with self.engine.connect() as connection:
            username = connection.execute(sa.select(accounts.c.username).where(accounts.c.agent == agent)).scalar()
        if username is None:
            raise NotFound(f"agent {agent!r} has no SIP phone")
        return self.contacts(username)

    def register(self, username: str, changes: dict[str, int], source: str) -> list[tuple[str, int]]:
        """Apply a REGISTER: ``changes`` maps contacts to seconds (0 removes the contact);
        returns the live contacts with their seconds left."""
        now = time.time()
        with self.engine.begin() as connection:
            connection.execute(bindings.delete().where(bindings.c.username == username, bindings.c.expires <= now))
            for contact, seconds in changes.items():
                connection.execute(bindings.delete().where(bindings.c.username == username,
                                                           bindings.c.contact == contact))
                if seconds > 0:
                    connection.execute(bindings.insert().values(username=username, contact=contact[:MAX_CONTACT],
                                                                expires=now + seconds, source=source[:64]))
            live = connection.execute(sa.select(bindings.c.contact, bindings.c.expires)
                                      .where(bindings.c.username == username)
                                      .order_by(bindings.c.expires.desc())).all()
            for extra in live[self.max_contacts:]:
                connection.execute(bindings.delete().where(bindings.c.username == username,
                                                           bindings.c.contact == extra.contact))
        return [(row.contact, round(row.expires - now)) for row in live[:self.max_contacts]]

    def unregister_all(self, username: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(bindings.delete().where(bindings.c.username == username))
