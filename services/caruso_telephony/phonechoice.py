"""Which phone rings for an agent: a registered SIP phone, the agent desk in a browser, or
an external number through the trunk.

Contract of :class:`PhoneChoices`: one choice per agent in the component's database
(table ``telephony_phone_choice``; the same database as the phone accounts, so the two
instances of a drain swap agree). ``set(agent, kind, number=None)`` stores ``kind`` (one
of :data:`KINDS`; ``number`` only, and required, for ``number``); ``get(agent)`` is
``{"agent", "kind", "number"}``, ``sip`` for an agent who never chose. :meth:`route`
turns the ring target ``{"agent": ID}`` into the target of the agent's choice:
``{"browser": ID}``, ``{"number": N}`` or itself.
"""
from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from caruso_core.errors import InvalidInput
from caruso_telephony.phones import AGENT, metadata

KINDS = ("sip", "browser", "number")
NUMBER = re.compile(r"^\+?[0-9]{2,20}$")

choices = sa.Table(
    "telephony_phone_choice", metadata,
    sa.Column("agent", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("number", sa.String(21), nullable=True),
)


class PhoneChoices:
    """See the module's contract; ``engine`` is the phone accounts' database."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine
        choices.create(engine, checkfirst=True)

    def set(self, agent: str, kind: str, number: str | None = None) -> None:
        if not isinstance(agent, str) or not AGENT.match(agent):
            raise InvalidInput("an agent id is 1 to 64 printable characters")
        if kind not in KINDS:
            raise InvalidInput(f"a phone is one of {', '.join(KINDS)}, not {kind!r:.40}")
        if kind == "number" and not (isinstance(number, str) and NUMBER.match(number)):
            raise InvalidInput(f"an external number is 2 to 20 digits, '+' first if international, not {number!r:.40}")
        with self.engine.begin() as connection:
            connection.execute(choices.delete().where(choices.c.agent == agent))
            connection.execute(choices.insert().values(agent=agent, kind=kind,
                                                       number=number if kind == "number" else None))

    def get(self, agent: str) -> dict[str, Any]:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(choices).where(choices.c.agent == agent)).first()
        return {"agent": agent, "kind": row.kind if row else "sip", "number": row.number if row else None}

    def route(self, target: dict[str, str]) -> dict[str, str]:
        if set(target) != {"agent"}:
            return target
        choice = self.get(target["agent"])
        if choice["kind"] == "browser":
            return {"browser": target["agent"]}
        if choice["kind"] == "number":
            return {"number": choice["number"]}
        return target
