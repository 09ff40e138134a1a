"""What an agent keeps about an interaction at the desk: its dialog script session, notes
and the follow-up decided for it.

One row per agent and interaction in the front office's database, so the desk can be
reloaded (or the front office restarted) mid-call without losing the script's place
or the notes. The script session itself lives in the script engine; this is only its id.
A follow-up is claimed (:meth:`Worksheets.claim_follow_up`) before its task is made, and
completing an interaction without one claims "none", so an interaction gets at most one,
whether the agent decides it on completing or at the end of the wrap-up.
"""
from __future__ import annotations

import time

import attrs
import sqlalchemy as sa

KEEP_SECONDS = 30 * 24 * 3600.0
MAX_NOTES = 4000

metadata = sa.MetaData()
worksheets = sa.Table(
    "frontoffice_worksheets", metadata,
    sa.Column("agent", sa.String(64), primary_key=True),
    sa.Column("interaction", sa.String(200), primary_key=True),
    sa.Column("script_session", sa.String(64)),
    sa.Column("notes", sa.Text, nullable=False, default=""),
    sa.Column("updated_at", sa.Float, nullable=False, index=True),
)
follow_ups = sa.Table(
    "frontoffice_follow_ups", metadata,
    sa.Column("agent", sa.String(64), primary_key=True),
    sa.Column("interaction", sa.String(200), primary_key=True),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False, index=True),
)


@attrs.frozen
class Worksheet:
    script_session: str | None = None
    notes: str = ""
    follow_up: str | None = None        # its follow-up task's subject; "" none; None not decided


class Worksheets:
    """The worksheets table; rows not changed for 30 days are deleted when it opens."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        metadata.create_all(engine)
        with engine.begin() as connection:
            for table in (worksheets, follow_ups):
                connection.execute(table.delete().where(table.c.updated_at < time.time() - KEEP_SECONDS))

    def get(self, agent: str, interaction: str) -> Worksheet:
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(worksheets).where(
                worksheets.c.agent == agent, worksheets.c.interaction == interaction)).first()
            follow_up = connection.execute(sa.select(follow_ups.c.subject).where(
                follow_ups.c.agent == agent, follow_ups.c.interaction == interaction)).scalar()
        return Worksheet(row.script_session if row else None, row.notes if row else "", follow_up)

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
            connection.execute(follow_ups.delete().where(follow_ups.c.agent == agent,
                                                         follow_ups.c.interaction == interaction))

    def keep(self, agent: str, interaction: str, *, script_session: str | None = None,
             notes: str | None = None) -> None:
        """Store the script session id and/or the notes (at most ``MAX_NOTES`` characters)."""
        values: dict[str, object] = {"updated_at": time.time()}
        if script_session is not None:
            values["script_session"] = script_session
        if notes is not None:
            values["notes"] = notes[:MAX_NOTES]
        with self._engine.begin() as connection:
            changed = connection.execute(worksheets.update().where(
                worksheets.c.agent == agent, worksheets.c.interaction == interaction).values(**values)).rowcount
            if not changed:
                connection.execute(worksheets.insert().values(agent=agent, interaction=interaction,
                                                              **{"notes": "", **values}))
