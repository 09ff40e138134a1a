"""Users of the front office: a name, one role, a password hash.

Roles: ``agent`` (works interactions), ``supervisor`` (watches and steers agents),
``admin`` (runs the installation): the staff, who see internal pages; ``customer``
(uses the self-service portal only), whose account holds the key of their customer
record, e.g. ``{"customer_id": 42}``, given to the dialog scripts they run as context.
:func:`check_customer` asks the storage service whether such a key names one customer (when
the account is added, when it signs in and at each self-service request: the storage deletes
customers without knowing the accounts); :func:`unlinked_customers` which of many accounts'
keys no longer do.
A page or view names the roles that may see it.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from typing import Any, Callable

import attrs
import sqlalchemy as sa

from caruso_core.errors import CarusoError, Conflict, InvalidInput, NotFound, Unavailable
from caruso_core.digits import digits
from caruso_frontoffice.database import customers, sessions, users
from caruso_frontoffice.passwords import Passwords, check_policy
from caruso_frontoffice.records import ObjectInfo, object_info

STAFF = ("agent", "supervisor", "admin")
ROLES = (*STAFF, "customer")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
KEY_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,39})=([A-Za-z0-9._@+-]{1,80})$")
KEY_LENGTH = customers.c.customer_key.type.length     # a customer key's characters, as typed and as stored
CUSTOMER = "Customer"
KEY_NAME = "customer_id"       # the context name dialog scripts read a customer's key by
GONE = "customer gone"         # what is said of a customer account whose key names no customer
UNLINKED = ("Your customer account is no longer linked to a customer record, so it cannot be used here. "
            "Please contact us.")  # what such an account is told
IN_BATCH = 500                 # keys of one attribute looked up in one storage query
BATCH_ROWS = 5_000             # the customers one such query may give back
log = logging.getLogger("caruso.frontoffice")


@attrs.frozen
class User:
    """A signed-in person as pages see them."""

    id: int
    name: str
    role: str
    customer: dict[str, Any] | None = attrs.field(default=None, eq=False)

    def may(self, roles: frozenset[str]) -> bool:
        """Whether this user's role is one of ``roles``."""
        return self.role in roles


def parse_customer_key(text: str) -> dict[str, Any]:
    """``customer_id=42`` (pairs separated by commas, each name once) as ``{"customer_id":
    42}``; digits become integers. InvalidInput naming the expected form otherwise."""
    if len(text or "") > KEY_LENGTH:
        raise InvalidInput(f"a customer key has at most {KEY_LENGTH} characters")
    key: dict[str, Any] = {}
    for part in (text or "").split(","):
        found = KEY_PART.match(part.strip())
        if not found:
            raise InvalidInput(f"customer key {text!r}: write it as name=value pairs separated by commas, "
                               "e.g. customer_id=42")
        name, value = found.groups()
        if name in key:
            raise InvalidInput(f"customer key {text!r}: {name} is named twice; name each attribute once")
        key[name] = int(value) if digits(value) and len(value) < 16 else value
    return key


def shown_key(key: dict[str, Any]) -> str:
    """A parsed customer key as it is typed: ``customer_no=K-1001, postcode=10115``."""
    return ", ".join(f"{name}={value}" for name, value in key.items())


def check_customer(storage: Any, key: dict[str, Any],
                   described: Callable[[str], ObjectInfo] | None = None) -> dict[str, Any]:
    """Refuse a customer key that does not name exactly one ``Customer`` of the storage
    service ``storage`` (a client of ``caruso.storage/1``): each name is an attribute of Customer (``customer_id``, the
    name the dialog scripts read, stands for its key attribute unless Customer has an
    attribute of that name), and one customer holds all the values. InvalidInput naming the
    attribute, the value or the key that is wrong (:class:`CustomerGone` when no customer
    holds it); Unavailable when the storage service cannot be asked (nothing is known about
    the key then). ``described(object)`` gives Customer's description where one is kept
    (:meth:`caruso_frontoffice.records.Records.info`), else the storage is asked for it.

    Returns ``key`` as the dialog scripts read it: with :data:`KEY_NAME` the key of the one
    customer it names, whatever attributes it names (``customer_no=K-1001``), since the
    scripts' bindings load the customer by its key (a Customer whose key has several
    attributes gives none)."""
    info = _customer_object(storage, described)
    found = _one_customer(storage, key, _conditions(info, key))
    return {**key, KEY_NAME: found[info.key[0]]} if len(info.key) == 1 else dict(key)


class CustomerGone(InvalidInput):
    """A customer key that no customer holds (any more)."""


def unlinked_customers(storage: Any, keys: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Of the customer accounts ``keys`` (name: customer key), those whose key does not name
    exactly one customer of ``storage``, with why: :data:`GONE`, or the one line of
    :func:`check_customer`. Keys of one attribute are looked up :data:`IN_BATCH` at a time;
    any other key, and any a batch does not find exactly once, is checked alone. Unavailable
    when the storage service cannot be asked."""
    if not keys:
        return {}
    info = _customer_object(storage)
    problems: dict[str, str] = {}
    conditions: dict[str, list[dict[str, Any]]] = {}
    for name, key in keys.items():
        try:
            conditions[name] = _conditions(info, key)
        except InvalidInput as error:
            problems[name] = str(error)
    by_field: dict[str, dict[str, Any]] = {}
    for name, found in conditions.items():
        if len(found) == 1:
            by_field.setdefault(found[0]["field"], {})[name] = found[0]["value"]
    cleared: set[str] = set()
    for field, values in by_field.items():
        cleared |= _found_once(storage, field, values)
    for name in sorted(set(conditions) - cleared):
        try:
            _one_customer(storage, keys[name], conditions[name])
        except CustomerGone:
            problems[name] = GONE
        except InvalidInput as error:
            problems[name] = str(error)
    return problems


def linked(storage: Any, user: User,
           described: Callable[[str], ObjectInfo] | None = None) -> tuple[dict[str, Any], str | None]:
    """The customer account ``user``'s key as the dialog scripts read it (:func:`check_customer`;
    nothing for staff), and why it may not act as its customer now, in one line: its key names
    no customer of ``storage``, or not exactly one (None: it may). When the storage does not
    answer, the account's own key and None (logged: the key cannot be judged then, and the
    self-service needs the storage anyway)."""
    if not user.customer:
        return {}, None
    try:
        return check_customer(storage, user.customer, described), None
    except Unavailable as error:
        log.warning("customer account %r was not checked: %s", user.name, error)
        return dict(user.customer), None
    except InvalidInput as error:
        return {}, str(error)


def _customer_object(storage: Any, described: Callable[[str], ObjectInfo] | None = None) -> ObjectInfo:
    """Customer as the storage service describes it (``described``, or asked now); InvalidInput
    without one, Unavailable when the storage does not answer."""
    try:
        return described(CUSTOMER) if described is not None else object_info(CUSTOMER, storage.describe(CUSTOMER))
    except NotFound:
        raise InvalidInput(f"the storage's model has no {CUSTOMER} object") from None
    except CarusoError as error:
        raise _unchecked(error) from None


def _conditions(info: ObjectInfo, key: dict[str, Any]) -> list[dict[str, Any]]:
    """The storage conditions of ``key``'s attributes; InvalidInput for a name Customer lacks."""
    alias = info.key[0] if len(info.key) == 1 and KEY_NAME not in info.attributes else None
    conditions = []
    for name, value in key.items():
        attribute = name if name in info.attributes else alias if name == KEY_NAME else None
        if attribute is None:
            raise InvalidInput(f"customer key {shown_key(key)}: {CUSTOMER} has no attribute {name!r} (use "
                               f"{KEY_NAME + ' or ' if alias else ''}one of {', '.join(info.attributes)})")
        if info.attribute(attribute).type == "string":
            value = str(value)
        conditions.append({"field": attribute, "op": "eq", "value": value})
    return conditions


def _one_customer(storage: Any, key: dict[str, Any], conditions: list[dict[str, Any]]) -> dict[str, Any]:
    """The one customer that meets ``key``'s ``conditions``; refused otherwise (see :func:`check_customer`)."""
    shown = shown_key(key)
    try:
        found = storage.query(CUSTOMER, {"and": conditions}, None, 2, 0)
    except InvalidInput as error:
        raise InvalidInput(f"customer key {shown}: {error}") from None
    except CarusoError as error:
        raise _unchecked(error) from None
    if not found:
        wanted = " and ".join(f"{c['field']}={c['value']}" for c in conditions)
        raise CustomerGone(f"customer key {shown}: there is no such customer (no {CUSTOMER} with {wanted})")
    if len(found) > 1:
        raise InvalidInput(f"customer key {shown}: several customers have it; give a key that names one "
                           f"(e.g. {KEY_NAME}=42)")
    return found[0]


def _found_once(storage: Any, field: str, values: dict[str, Any]) -> set[str]:
    """The names whose value of ``field`` exactly one customer holds, asked :data:`IN_BATCH`
    values at a time; a batch the storage refuses or answers in full clears none of its names."""
    names, once = list(values), set()
    for start in range(0, len(names), IN_BATCH):
        batch = names[start:start + IN_BATCH]
        try:
            rows = storage.query(CUSTOMER, {"field": field, "op": "in", "value": [values[n] for n in batch]},
                                 None, BATCH_ROWS, 0)
        except InvalidInput:
            continue
        except CarusoError as error:
            raise _unchecked(error) from None
        if len(rows) < BATCH_ROWS:
            held = Counter(row.get(field) for row in rows)
            once.update(name for name in batch if held[values[name]] == 1)
    return once


def _unchecked(error: CarusoError) -> Unavailable:
    return Unavailable(f"the customer key could not be checked, the storage service did not answer "
                       f"({type(error).__name__}: {error})")


def user_name(text: str) -> str:
    """A user name as accounts keep and compare it: without blanks around, in lower case."""
    return text.strip().lower()


def check_role(role: str) -> str:
    """``role`` if it is a known role, else InvalidInput naming the known ones."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


class Accounts:
    """The users table: add users, check passwords, find users. Passwords are hashed by
    ``passwords`` (scrypt at its cost)."""

    def __init__(self, engine: sa.Engine, passwords: Passwords | None = None) -> None:
        self._engine = engine
        self.passwords = passwords or Passwords()

    def add(self, name: str, role: str, password: str, customer: str | None = None,
            check: Callable[[dict[str, Any]], None] | None = None) -> User:
        """Create a user; a customer account needs ``customer``, their customer key (see
        :func:`parse_customer_key`), no other role has one. ``check`` (e.g. :func:`check_customer`
        with the storage service) vets the parsed key once everything else is right and
        before anything is stored, and refuses by raising. InvalidInput for a bad name, role,
        password or key, Conflict if the name is taken."""
        name = user_name(name) if isinstance(name, str) else ""
        if not NAME_PATTERN.match(name):
            raise InvalidInput("a user name is 1 to 64 of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit")
        check_role(role)
        if (role == "customer") != bool(customer):
            raise InvalidInput("a customer account needs its customer key (e.g. customer_id=42), "
                               "and only a customer account has one")
        key = parse_customer_key(customer) if customer else None
        check_policy(password, name)
        stored = None if key is None else json.dumps(key)
        if stored is not None and len(stored) > KEY_LENGTH:
            raise InvalidInput(f"a customer key has at most {KEY_LENGTH} characters as stored: write it shorter")
        if key is not None and check is not None:
            try:
                check(key)
            except Unavailable as error:
                raise Unavailable(f"{error}; nobody was added, try again when it runs") from None
        try:
            with self._engine.begin() as connection:
                row_id = connection.execute(users.insert().values(
                    name=name, role=role, password=self.passwords.hash(password),
                    created_at=time.time())).inserted_primary_key[0]
                if key is not None:
                    connection.execute(customers.insert().values(user_id=row_id, customer_key=stored))
        except sa.exc.IntegrityError:
            raise Conflict(f"a user named {name!r} exists already") from None
        return User(row_id, name, role, key)

    def set_password(self, name: str, password: str) -> None:
        """Give the user ``name`` a new password and end their sessions; NotFound if unknown."""
        check_policy(password, user_name(name))
        with self._engine.begin() as connection:
            user_id = self._row(connection, name).id
            connection.execute(users.update().where(users.c.id == user_id).values(password=self.passwords.hash(password)))
            connection.execute(sessions.delete().where(sessions.c.user_id == user_id))

    def set_role(self, name: str, role: str) -> User:
        """Give the staff user ``name`` another staff role and end their sessions (their open
        pages were drawn for the old one). InvalidInput for an unknown role, for a customer
        account or the customer role (a customer account belongs to its customer: remove it
        and add a staff user), and for the last administrator; NotFound if unknown."""
        check_role(role)
        if role not in STAFF:
            raise InvalidInput("a staff user does not become a customer account: add one for the customer")
        with self._engine.begin() as connection:
            row = self._row(connection, name)
            if row.role not in STAFF:
                raise InvalidInput(f"{row.name} is a customer account, whose role does not change: "
                                   "remove it and add a staff user")
            keep = self._keep_an_administrator(connection, row) if role != "admin" else sa.true()
            _changed(connection.execute(users.update().where(users.c.id == row.id, keep).values(role=role)), row)
            connection.execute(sessions.delete().where(sessions.c.user_id == row.id))
        return User(row.id, row.name, role, None)

    def remove(self, name: str) -> None:
        """Delete the user ``name`` and their sessions; NotFound if unknown, InvalidInput for
        the last administrator."""
        with self._engine.begin() as connection:
            row = self._row(connection, name)
            keep = self._keep_an_administrator(connection, row)
            connection.execute(sessions.delete().where(sessions.c.user_id == row.id))
            connection.execute(customers.delete().where(customers.c.user_id == row.id))
            _changed(connection.execute(users.delete().where(users.c.id == row.id, keep)), row)

    @staticmethod
    def _keep_an_administrator(connection: sa.Connection, user: sa.Row) -> sa.ColumnElement[bool]:
        """InvalidInput if ``user`` is the only administrator; else the condition the change of
        that user is made under, so that two administrators changing each other at once cannot
        both go: the administrators' rows are locked (PostgreSQL, MariaDB), and the change's own
        statement counts them again (SQLite, whose statements are serialized)."""
        admins = connection.execute(sa.select(users.c.id).where(users.c.role == "admin").with_for_update()).scalars()
        if list(admins) == [user.id]:
            _last_administrator(user)
        others = sa.select(sa.func.count()).select_from(
            sa.select(users.c.id).where(users.c.role == "admin", users.c.id != user.id).subquery()).scalar_subquery()
        return sa.or_(users.c.role != "admin", others > 0)

    @staticmethod
    def _row(connection: sa.Connection, name: str) -> sa.Row:
        row = connection.execute(_SELECT.where(users.c.name == user_name(name))).first()
        if row is None:
            raise NotFound(f"no user named {name!r}")
        return row

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else None (same cost for unknown names). A
        stored hash made at another cost is replaced by one at the current cost.
        HashingBusy when no hashing slot came free in time."""
        with self._engine.connect() as connection:
            row = connection.execute(_SELECT.where(users.c.name == user_name(name))).first()
        if row is None:
            self.passwords.verify_nobody(password)
            return None
        if not self.passwords.verify(password, row.password):
            return None
        if self.passwords.outdated(row.password):
            with self._engine.begin() as connection:   # unless the password changed meanwhile
                connection.execute(users.update().where(users.c.id == row.id, users.c.password == row.password)
                                   .values(password=self.passwords.hash(password)))
        return _user(row)

    def get(self, user_id: int) -> User | None:
        with self._engine.connect() as connection:
            row = connection.execute(_SELECT.where(users.c.id == user_id)).first()
        return _user(row) if row else None

    def named(self, name: str) -> User | None:
        """The user ``name`` (as names are compared: any case, blanks around), if there is one."""
        with self._engine.connect() as connection:
            row = connection.execute(_SELECT.where(users.c.name == user_name(name))).first()
        return _user(row) if row else None

    def all(self) -> list[User]:
        """Every user, by name."""
        with self._engine.connect() as connection:
            rows = connection.execute(_SELECT.order_by(users.c.name)).all()
        return [_user(row) for row in rows]

    def count(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()


_SELECT = sa.select(users, customers.c.customer_key).select_from(users.outerjoin(customers))


def _changed(result: sa.CursorResult[Any], user: sa.Row) -> None:
    """After a change of ``user`` made under :meth:`Accounts._keep_an_administrator`'s condition:
    no row changed means another administrator went meanwhile."""
    if result.rowcount == 0:
        _last_administrator(user)


def _last_administrator(user: sa.Row) -> None:
    raise InvalidInput(f"{user.name} is the last administrator: make another one first")


def _user(row: sa.Row) -> User:
    return User(row.id, row.name, row.role, json.loads(row.customer_key) if row.customer_key else None)
