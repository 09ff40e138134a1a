"""Saved list filters: a user's named search, filters and sort of one list view, kept in
the front office's database (``frontoffice_saved_filters``). Every operation names the
user, so nobody reads or deletes another user's filters.
"""
from __future__ import annotations

import re
import time

import attrs
import sqlalchemy as sa

from caruso_core.errors import Conflict, InvalidInput, NotFound
from caruso_frontoffice.database import saved_filters

MAX_NAME = 60
MAX_QUERY = 2000
MAX_PER_USER = 50
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@attrs.frozen
class SavedFilter:
    """``query`` is the list page's query string (``q``, ``f.NAME``, ``sort``)."""

    id: int
    name: str
    query: str


class SavedFilters:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def of(self, user_id: int, view: str) -> list[SavedFilter]:
        """The user's filters of ``view``, by name."""
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(saved_filters).where(
                saved_filters.c.user_id == user_id, saved_filters.c.view == view).order_by(saved_filters.c.name))
            return [SavedFilter(row.id, row.name, row.query) for row in rows]

    def save(self, user_id: int, view: str, name: str, query: str) -> SavedFilter:
        """Keep ``query`` under ``name`` (1 to ``MAX_NAME`` characters, no control characters),
        replacing the user's filter of that name in ``view``; Conflict beyond ``MAX_PER_USER``."""
        name = name.strip()
        if not name:
            raise InvalidInput("the filter's name is empty: give it one")
        if len(name) > MAX_NAME or CONTROL.search(name):
            raise InvalidInput(f"a filter's name has 1 to {MAX_NAME} characters and no control characters")
        if len(query) > MAX_QUERY:
            raise InvalidInput(f"a saved filter holds at most {MAX_QUERY} characters of search, filters and sort")
        where = (saved_filters.c.user_id == user_id, saved_filters.c.view == view, saved_filters.c.name == name)
        with self._engine.begin() as connection:
            if connection.execute(saved_filters.update().where(*where).values(query=query)).rowcount:
                return SavedFilter(connection.execute(sa.select(saved_filters.c.id).where(*where)).scalar_one(),
                                   name, query)
            count = connection.execute(sa.select(sa.func.count()).select_from(saved_filters).where(
                saved_filters.c.user_id == user_id)).scalar_one()
            if count >= MAX_PER_USER:
                raise Conflict(f"you have {MAX_PER_USER} saved filters already: delete one first")
            try:
                found = connection.execute(saved_filters.insert().values(
                    user_id=user_id, view=view, name=name, query=query, created_at=time.time()))
            except sa.exc.IntegrityError:
                raise Conflict(f"a filter named {name!r} was saved at the same time: save again") from None
            return SavedFilter(found.inserted_primary_key[0], name, query)

    def delete(self, user_id: int, filter_id: int) -> None:
        """Delete the user's filter ``filter_id``; NotFound unless it is theirs."""
        with self._engine.begin() as connection:
            if not connection.execute(saved_filters.delete().where(
                    saved_filters.c.id == filter_id, saved_filters.c.user_id == user_id)).rowcount:
                raise NotFound("you have no such saved filter")
