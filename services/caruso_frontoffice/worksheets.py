"""What an agent keeps about an interaction at the desk: its dialog script session, notes,
the follow-up decided for it, and what the notes are filed with.

One row per agent and interaction in the front office's database, so the desk can be
reloaded (or the front office restarted) mid-call without losing the script's place
or the notes. The script session itself lives in the script engine; this is only its id.
A follow-up is claimed (:meth:`Worksheets.claim_follow_up`) before its task is made, and
completing an interaction without one claims "none", so an interaction gets at most one,
whether the agent decides it on completing or at the end of the wrap-up.
The notes go to the contact history once: the desk remembers the interaction's channel,
direction and customer while it is connected (:meth:`Worksheets.remember`, since the
communication server forgets them when it ends), and claims the filing
(:meth:`Worksheets.claim_filing`) before it files.
"""
from __future__ import annotations

import json
import time
from typing import Any

import attrs
import sqlalchemy as sa

KEEP_SECONDS = 30 * 24 * 3600.0
MAX_NOTES = 3800          # with the heading, within the contact history's 4000-character summary

metadata = sa.MetaData()


def _per_interaction(name: str, *columns: sa.Column) -> sa.Table:
    """A table of one row per agent and interaction, with ``columns`` and the time it last changed."""
    return sa.Table(name, metadata, sa.Column("agent", sa.String(64), primary_key=True),
                    sa.Column("interaction", sa.String(200), primary_key=True), *columns,
                    sa.Column("updated_at", sa.Float, nullable=False, index=True))


worksheets = _per_interaction(
    "frontoffice_worksheets",
    sa.Column("script_session", sa.String(64)),
    sa.Column("notes", sa.Text, nullable=False, default=""))
follow_ups = _per_interaction(
    "frontoffice_follow_ups",
    sa.Column("subject", sa.String(300), nullable=False))
contacts = _per_interaction(
    "frontoffice_contacts",
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("customer", sa.Text),                     # JSON [object, key]; None: no one customer
    sa.Column("filed", sa.Boolean, nullable=False, default=False))
TABLES = (worksheets, follow_ups, contacts)
BY_INTERACTION = sa.Index("ix_frontoffice_contacts_interaction", contacts.c.interaction)   # customer_of


@attrs.frozen
class Contact:
    """What the interaction's notes are filed with: its channel and direction, the customer
    (object, key) whose contact history gets them (None: none known), and whether they were."""

    channel: str
    direction: str
    customer: tuple[str, Any] | None = None
    filed: bool = False


@attrs.frozen
class Worksheet:
    script_session: str | None = None
    notes: str = ""
    follow_up: str | None = None        # its follow-up task's subject; "" none; None not decided
    contact: Contact | None = None      # None: never seen connected at the desk

    @property
    def fileable(self) -> bool:
        """Whether it holds notes and the customer to file them for."""
        return self.contact is not None and self.contact.customer is not None and bool(self.notes.strip())


class Worksheets:
    """The worksheets table; rows not changed for 30 days are deleted when it opens."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        metadata.create_all(engine)
        BY_INTERACTION.create(engine, checkfirst=True)      # also in a database made before it
        with engine.begin() as connection:
            for table in TABLES:
                connection.execute(table.delete().where(table.c.updated_at < time.time() - KEEP_SECONDS))

    def get(self, agent: str, interaction: str) -> Worksheet:
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(worksheets).where(
                *_of(worksheets, agent, interaction))).first()
            follow_up = connection.execute(sa.select(follow_ups.c.subject).where(
                *_of(follow_ups, agent, interaction))).scalar()
            contact = connection.execute(sa.select(contacts).where(
                *_of(contacts, agent, interaction))).first()
        return Worksheet(row.script_session if row else None, row.notes if row else "", follow_up,
                         _contact(contact) if contact else None)

    def remember(self, agent: str, interaction: str, contact: Contact) -> None:
        """Keep the channel, direction and customer of ``contact`` (not whether it was filed)."""
        values = {"channel": contact.channel, "direction": contact.direction,
                  "customer": json.dumps(list(contact.customer)) if contact.customer else None,
                  "updated_at": time.time()}
        self._upsert(contacts, agent, interaction, values, filed=False)

    def customer_of(self, interaction: str) -> tuple[str, Any] | None:
        """The customer last remembered for ``interaction`` by any agent (one who transferred
        it chose the caller: the next agent's desk starts from that), if any."""
        with self._engine.connect() as connection:
            customer = connection.execute(
                sa.select(contacts.c.customer).where(contacts.c.interaction == interaction,
                                                     contacts.c.customer.is_not(None))
                .order_by(contacts.c.updated_at.desc()).limit(1)).scalar()
        return tuple(json.loads(customer)) if customer else None

    def unfiled(self, agent: str) -> list[str]:
        """The agent's interactions with notes to file for a known customer, oldest first."""
        return self._unfiled(contacts.c.interaction, contacts.c.updated_at, contacts.c.agent == agent)

    def agents_with_unfiled(self) -> list[str]:
        """The agents who have notes to file for a known customer (:meth:`unfiled`)."""
        return self._unfiled(contacts.c.agent, contacts.c.agent, distinct=True)

    def _unfiled(self, column: sa.Column, order: sa.Column, *conditions: Any, distinct: bool = False) -> list[str]:
        """``column`` of the rows with notes not filed yet for a known customer, by ``order``."""
        query = sa.select(column).join(worksheets, _same_row(worksheets, contacts)).where(
            *conditions, sa.not_(contacts.c.filed), contacts.c.customer.is_not(None), worksheets.c.notes != "")
        with self._engine.connect() as connection:
            return list(connection.execute((query.distinct() if distinct else query).order_by(order)).scalars())

    def claim_filing(self, agent: str, interaction: str) -> bool:
        """Note that the interaction's notes are being filed; False when they were already."""
        return self._set_filed(agent, interaction, True) == 1

    def release_filing(self, agent: str, interaction: str) -> None:
        """Forget a claimed filing that failed, for another try."""
        self._set_filed(agent, interaction, False)

    def _set_filed(self, agent: str, interaction: str, filed: bool) -> int:
        with self._engine.begin() as connection:
            return connection.execute(contacts.update().where(
                *_of(contacts, agent, interaction), contacts.c.filed == (not filed))
                .values(filed=filed, updated_at=time.time())).rowcount

    def claim_follow_up(self, agent: str, interaction: str, subject: str) -> bool:
        """Note the interaction's follow-up, ``subject`` ("" for none); False (nothing noted)
        when it was decided already."""
        try:
            with self._engine.begin() as connection:
                connection.execute(follow_ups.insert().values(agent=agent, interaction=interaction, subject=subject,
                                                              updated_at=time.time()))
        except sa.exc.IntegrityError:
            return False
        return True

    def release_follow_up(self, agent: str, interaction: str) -> None:
        """Forget a claimed follow-up whose task could not be made."""
        with self._engine.begin() as connection:
            connection.execute(follow_ups.delete().where(*_of(follow_ups, agent, interaction)))

    def keep(self, agent: str, interaction: str, script_session: str) -> None:
        """Store the id of the interaction's script session."""
        self._upsert(worksheets, agent, interaction, {"script_session": script_session, "updated_at": time.time()},
                     notes="")

    def keep_notes(self, agent: str, interaction: str, notes: str) -> bool:
        """Store the notes (at most ``MAX_NOTES`` characters) unless they were filed: False
        then, nothing stored. The interaction's contact row is written in the same
        transaction before the notes, so a filing that claims it meanwhile
        (:meth:`claim_filing`) either comes first (and these notes are refused) or waits
        for this transaction and then reads these notes."""
        now = time.time()
        self._upsert(worksheets, agent, interaction, {"updated_at": now}, notes="")
        with self._engine.begin() as connection:
            open_contact = connection.execute(contacts.update().where(
                *_of(contacts, agent, interaction), sa.not_(contacts.c.filed)).values(updated_at=now)).rowcount
            if not open_contact and connection.execute(
                    sa.select(contacts.c.filed).where(*_of(contacts, agent, interaction))).first() is not None:
                return False
            connection.execute(worksheets.update().where(*_of(worksheets, agent, interaction))
                               .values(notes=notes[:MAX_NOTES], updated_at=now))
        return True

    def forget(self, agent: str, interaction: str) -> None:
        """Delete everything kept of the agent's interaction."""
        with self._engine.begin() as connection:
            for table in TABLES:
                connection.execute(table.delete().where(*_of(table, agent, interaction)))

    def _upsert(self, table: sa.Table, agent: str, interaction: str, values: dict[str, Any],
                **new: Any) -> None:
        """Set ``values`` in the row of ``agent`` and ``interaction``; a row made for them has
        the columns ``new`` too (one made meanwhile by another request is updated)."""
        update = table.update().where(*_of(table, agent, interaction)).values(**values)
        with self._engine.begin() as connection:
            if connection.execute(update).rowcount:
                return
        try:
            with self._engine.begin() as connection:
                connection.execute(table.insert().values(agent=agent, interaction=interaction, **{**new, **values}))
        except sa.exc.IntegrityError:
            with self._engine.begin() as connection:
                connection.execute(update)


def _of(table: sa.Table, agent: str, interaction: str) -> tuple[Any, Any]:
    """The conditions of the row of ``agent`` and ``interaction`` in ``table``."""
    return table.c.agent == agent, table.c.interaction == interaction


def _same_row(table: sa.Table, other: sa.Table) -> Any:
    """The join condition of the rows of two per-interaction tables for one agent and interaction."""
    return sa.and_(table.c.agent == other.c.agent, table.c.interaction == other.c.interaction)


def _contact(row: Any) -> Contact:
    return Contact(row.channel, row.direction, tuple(json.loads(row.customer)) if row.customer else None, row.filed)
