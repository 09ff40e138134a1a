"""Browser sessions: signed cookie tokens, sessions of signed-in users, CSRF tokens.

Every browser holds one random token in a signed cookie. Signing in binds a fresh
token to the user in the database (only its SHA-256 is stored); signing out or
expiry unbinds it. The CSRF token of a form is an HMAC of the browser's token, so it
is valid only with that browser's cookie and needs no storage.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

import sqlalchemy as sa

from caruso_core.credentials import same
from caruso_frontoffice.database import sessions

DEFAULT_LIFETIME = 12 * 3600.0


def load_key(path: Path) -> bytes:
    """The signing key stored at ``path``, created (32 random bytes, mode 0600) if missing."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key)
        return key


class Sessions:
    """Issues and checks cookie tokens and CSRF tokens; binds tokens to users."""

    def __init__(self, engine: sa.Engine, key: bytes, lifetime: float = DEFAULT_LIFETIME) -> None:
        self._engine = engine
        self._key = key
        self.lifetime = lifetime

    def new_token(self) -> str:
        return secrets.token_urlsafe(32)

    def cookie(self, token: str) -> str:
        """The cookie value carrying ``token``: the token and its signature."""
        return f"{token}.{self._mac('cookie', token)}"

    def token_of(self, cookie: str | None) -> str | None:
        """The token of a cookie value if its signature holds, else None."""
        token, _, signature = (cookie or "").rpartition(".")
        if token and same(signature, self._mac("cookie", token)):
            return token
        return None

    def csrf(self, token: str) -> str:
        """The CSRF token forms of the browser holding ``token`` must send back."""
        return self._mac("csrf", token)

    def csrf_ok(self, token: str, offered: object) -> bool:
        return same(offered, self.csrf(token))

    def bind(self, token: str, user_id: int) -> None:
        """Make ``token`` a session of ``user_id`` for ``lifetime`` seconds; drops expired sessions."""
        now = time.time()
        with self._engine.begin() as connection:
            connection.execute(sessions.delete().where(sessions.c.expires_at < now))
            connection.execute(sessions.insert().values(token_hash=_digest(token), user_id=user_id,
                                                        created_at=now, expires_at=now + self.lifetime))

    def user_id(self, token: str) -> int | None:
        """The user ``token`` is a live session of, if any."""
        with self._engine.connect() as connection:
            return connection.execute(sa.select(sessions.c.user_id).where(
                sessions.c.token_hash == _digest(token), sessions.c.expires_at >= time.time())).scalar()

    def live(self, user_id: int) -> int:
        """How many live sessions ``user_id`` has (signed in in as many browsers)."""
        with self._engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(sessions).where(
                sessions.c.user_id == user_id, sessions.c.expires_at >= time.time())).scalar() or 0

    def unbind(self, token: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(sessions.delete().where(sessions.c.token_hash == _digest(token)))

    def signature(self, purpose: str, text: str) -> str:
        """An HMAC of ``text`` for ``purpose`` with the signing key (e.g. a notice's cookie)."""
        return self._mac(purpose, text)

    def _mac(self, purpose: str, token: str) -> str:
        return hmac.new(self._key, f"{purpose}:{token}".encode(), hashlib.sha256).hexdigest()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
