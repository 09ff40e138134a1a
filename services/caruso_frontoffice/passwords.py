"""Password hashing: scrypt (stdlib) with a random salt per password.

A stored hash reads ``scrypt$N$r$p$salt$digest`` (salt and digest in base64), so the
cost can be raised later without invalidating existing hashes.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from caruso_core.errors import InvalidInput

N, R, P = 2 ** 14, 8, 1
MIN_LENGTH = 10
MAX_LENGTH = 256


def check_policy(password: str) -> None:
    """Raise InvalidInput unless ``password`` is acceptable (length within bounds)."""
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"a password needs {MIN_LENGTH} to {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` to store."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, N, R, P)
    return "$".join(["scrypt", str(N), str(R), str(P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or len(password) > MAX_LENGTH:
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r, dklen=32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@functools.cache
def dummy_hash() -> str:
    """A hash no password matches: checked when a user is unknown, so that unknown and
    known names take the same time."""
    return hash_password(secrets.token_urlsafe(16))
