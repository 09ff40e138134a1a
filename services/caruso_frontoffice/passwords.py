"""Password hashing: scrypt (stdlib) with a random salt per password.

A stored hash reads ``scrypt$N$r$p$salt$digest`` (salt and digest in base64): it carries
its cost, so a hash made at an older, lower cost still verifies, and
:meth:`Passwords.outdated` tells the caller to store a new one (at sign-in).

The cost is OWASP's current advice for scrypt, N=2^17, r=8, p=1: about 128 MiB of memory
and half a second of CPU per hash. A deployment may set another (the front office's
``password_cost``): a higher one, or a lower one where speed matters more than a stolen
database's resistance to guessing, as in tests. At most ``HASH_SLOTS`` hashes run at once
in a process, so that a burst of sign-ins cannot exhaust memory; a hash that waits longer
than ``HASH_WAIT`` seconds for a slot raises :class:`HashingBusy`.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import threading
from typing import Any

import attrs

from caruso_core.errors import CarusoError, ConfigError, InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_VARIETY = 5                  # different characters of a password
MIN_BESIDES_NAME = 6             # characters of a password that are not the user name
AROUND = "0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"      # stripped from a password's ends for COMMON
# passwords people choose first (of the lists leaked ones top, in the languages of the
# verticals), compared without the digits and signs around them: "Password123!" is one
COMMON = frozenset({
    "", "password", "passwort", "wachtwoord", "motdepasse", "contrasena", "contraseña", "passw0rd", "p@ssw0rd",
    "qwerty", "qwertz", "azerty", "qwertyuiop", "asdfgh", "asdfghjkl", "zxcvbn", "abc", "abcdef", "abcdefg",
    "letmein", "welcome", "welkom", "willkommen", "bienvenue", "admin", "administrator", "root", "user", "guest",
    "test", "login", "secret", "geheim", "changeme", "default", "iloveyou", "monkey", "dragon", "football",
    "baseball", "sunshine", "princess", "master", "shadow", "superman", "trustno", "hello", "hallo", "summer",
    "winter", "spring", "autumn", "caruso"})
HASH_SLOTS = 2
HASH_WAIT = 10.0
MAX_LOG2_N, MAX_R, MAX_P = 20, 32, 16   # what a stored hash may ask for (4 GiB at most: 128 * r * n)
MIN_LOG2_N = 10                         # the least a deployment may set (tests; see Cost.configured)


class HashingBusy(CarusoError):
    """Every hashing slot stayed taken for ``HASH_WAIT`` seconds."""


@attrs.frozen
class Cost:
    """scrypt's parameters: CPU and memory cost ``n`` (a power of two), block size ``r``,
    parallelism ``p``."""

    n: int = 2 ** 17
    r: int = 8
    p: int = 1

    @classmethod
    def configured(cls, value: Any) -> "Cost":
        """The cost a deployment sets (``{"n": ..., "r": ..., "p": ...}``, each optional);
        ConfigError naming the setting unless it is within the bounds a stored hash may ask
        for and ``n`` is a power of two of at least 2^10."""
        if value is None:
            return DEFAULT_COST
        if not isinstance(value, dict) or set(value) - {"n", "r", "p"} or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            raise ConfigError(f"frontoffice password_cost must be a table of whole numbers n, r and p, not {value!r}")
        cost = cls(**{key: value.get(key, getattr(DEFAULT_COST, key)) for key in ("n", "r", "p")})
        if not cost.within_bounds(least_n=2 ** MIN_LOG2_N):
            raise ConfigError(f"frontoffice password_cost {value!r}: n must be a power of two from 2^{MIN_LOG2_N} "
                              f"to 2^{MAX_LOG2_N}, r 1 to {MAX_R}, p 1 to {MAX_P}")
        return cost

    def within_bounds(self, least_n: int = 2) -> bool:
        """Whether ``n`` is a power of two from ``least_n`` to 2^MAX_LOG2_N and ``r``, ``p``
        are from 1 to MAX_R, MAX_P."""
        return (least_n <= self.n <= 2 ** MAX_LOG2_N and self.n & (self.n - 1) == 0
                and 0 < self.r <= MAX_R and 0 < self.p <= MAX_P)

    def below(self, other: "Cost") -> bool:
        """Whether a hash at this cost takes less work (n * r * p) than one at ``other``."""
        return self.n * self.r * self.p < other.n * other.r * other.p

    def memory(self) -> int:
        """The ``maxmem`` scrypt gets at this cost: the bytes it needs, 128 * r * (n + p + 2)
        (about 128 MiB at the default), and 1 MiB to spare."""
        return 128 * self.r * (self.n + self.p + 2) + 2 ** 20


DEFAULT_COST = Cost()
_SLOTS = threading.BoundedSemaphore(HASH_SLOTS)


def check_policy(password: str, name: str = "") -> None:
    """Raise InvalidInput unless ``password`` is acceptable for the user ``name``: its length
    within bounds, ``MIN_VARIETY`` different characters or more, not a common password (one of
    ``COMMON``, or digits and signs only, with digits and signs around it or not), and
    ``MIN_BESIDES_NAME`` characters or more besides the user name."""
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"a password needs {MIN_LENGTH} to {MAX_LENGTH} characters")
    if len(set(password.casefold())) < MIN_VARIETY:
        raise InvalidInput(f"a password needs {MIN_VARIETY} different characters or more")
    if password.casefold().strip(AROUND) in COMMON:
        raise InvalidInput("that is a common password (a well-known word or a run of digits, with digits "
                           "or signs around it perhaps): choose another")
    if len(name) >= 3 and len(password.casefold().replace(name.casefold(), "")) < MIN_BESIDES_NAME:
        raise InvalidInput(f"a password needs {MIN_BESIDES_NAME} characters besides the user name")


class Passwords:
    """Hashes at ``cost`` and verifies hashes of any cost within bounds (thread-safe)."""

    def __init__(self, cost: Cost = DEFAULT_COST, slots: threading.Semaphore = _SLOTS,
                 wait: float = HASH_WAIT) -> None:
        self.cost = cost
        self._slots = slots
        self._wait = wait

    def hash(self, password: str) -> str:
        """A salted scrypt hash of ``password`` to store."""
        salt = secrets.token_bytes(16)
        digest = self._scrypt(password, salt, self.cost)
        return "$".join(["scrypt", str(self.cost.n), str(self.cost.r), str(self.cost.p), _b64(salt), _b64(digest)])

    def verify(self, password: str, stored: str) -> bool:
        """Whether ``password`` matches the ``stored`` hash (constant-time comparison)."""
        parsed = _parse(stored)
        if parsed is None or len(password) > MAX_LENGTH:
            return False
        cost, salt, expected = parsed
        return hmac.compare_digest(self._scrypt(password, salt, cost), expected)

    def outdated(self, stored: str) -> bool:
        """Whether ``stored`` was made at another cost than this one's (hash the password again)."""
        parsed = _parse(stored)
        return parsed is not None and parsed[0] != self.cost

    def verify_nobody(self, password: str) -> None:
        """Spend the time of a verification, for a user who does not exist."""
        self.verify(password, _nobody(self.cost))

    def _scrypt(self, password: str, salt: bytes, cost: Cost) -> bytes:
        if not self._slots.acquire(timeout=self._wait):
            raise HashingBusy("too many passwords are being checked at this moment; try again in a minute")
        try:
            return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                                  maxmem=cost.memory(), dklen=32)
        finally:
            self._slots.release()


def _parse(stored: str) -> tuple[Cost, bytes, bytes] | None:
    """The cost, salt and digest of a stored hash; None if it is not one within bounds."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        cost = Cost(int(n), int(r), int(p))
        if scheme != "scrypt" or not cost.within_bounds():
            return None
        return cost, base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except (ValueError, TypeError, AttributeError):
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@functools.cache
def _nobody(cost: Cost) -> str:
    """A hash at ``cost`` that no password matches."""
    return Passwords(cost).hash(secrets.token_urlsafe(16))
