"""New-record forms saved once. Each new form carries a token (``_once``); the first post of
a token claims it for its user (table ``frontoffice_submissions``) and, once the record is
made, notes the page the save went to, so the same form sent again (a double click, Back
and Save, a browser repeating the post) goes to the record made instead of making
another. A save refused gives the token back, so the form, corrected, can be sent again;
one whose outcome is not known (the storage's answer lost) keeps it, so the form is not
saved twice. A user's tokens older than :data:`KEEP_SECONDS` are deleted at their next
claim, everyone's when the table opens.
"""
from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

import attrs
import sqlalchemy as sa

from caruso_core.errors import one_line
from caruso_frontoffice.database import submissions

log = logging.getLogger(__name__)

KEEP_SECONDS = 86_400.0
TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def new_token() -> str:
    return secrets.token_urlsafe(16)


class Submissions:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        with engine.begin() as connection:
            connection.execute(submissions.delete().where(submissions.c.created_at < time.time() - KEEP_SECONDS))

    def of(self, user_id: int, token: str) -> "Submission | None":
        """The post of a new form carrying ``token`` by the user; None when the token could not be one."""
        return Submission(self._engine, user_id, token) if TOKEN.fullmatch(token) else None


@attrs.frozen
class Submission:
    """One user's post of one new form."""

    _engine: sa.Engine
    user_id: int
    token: str

    def claim(self) -> str | None:
        """Claim the token for this save: None when it is claimed now; else the page of the
        record its first save made ("" while that save is under way)."""
        now = time.time()
        try:
            with self._engine.begin() as connection:
                connection.execute(submissions.delete().where(submissions.c.user_id == self.user_id,
                                                              submissions.c.created_at < now - KEEP_SECONDS))
                connection.execute(submissions.insert().values(user_id=self.user_id, token=self.token, created_at=now))
            return None
        except sa.exc.IntegrityError:
            with self._engine.connect() as connection:
                return connection.execute(sa.select(submissions.c.page).where(*self._row())).scalar() or ""

    def made(self, page: str) -> None:
        """Note the page of the record the claimed save made. Never raises: the record is made,
        so a failure is logged and the claim stays (a form sent again is told to look for it)."""
        try:
            with self._engine.begin() as connection:
                connection.execute(submissions.update().where(*self._row()).values(page=page[:2000]))
        except sa.exc.SQLAlchemyError as error:
            log.warning("the page of a saved form was not noted (sent again, it is refused): %s", one_line(error))

    def release(self) -> None:
        """Give back a claim whose save was refused."""
        with self._engine.begin() as connection:
            connection.execute(submissions.delete().where(*self._row(), submissions.c.page.is_(None)))

    def _row(self) -> tuple[Any, Any]:
        return submissions.c.user_id == self.user_id, submissions.c.token == self.token
