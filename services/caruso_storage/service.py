"""The storage manager service: business objects of a model, interface ``caruso.storage/1``.

Method contracts are documented in docs/storage.md. Arguments and results are
plain data; every failure a caller can cause is a CarusoError and leaves the
databases unchanged.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from inspect import signature
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from caruso_core import HostContext, remote, service, zones
from caruso_core.errors import CarusoError, ConfigError, InvalidInput, NotFound

from caruso_storage import eager, existing, filters, journal, loader, migrate, outbox, readonly, rules, tables, values
from caruso_storage import search as searching
from caruso_storage.database import Transaction, journal_name, open_engines
from caruso_storage.delivery import Delivery, Retries
from caruso_storage.describe import describe_model, describe_object
from caruso_storage.limits import limits_of
from caruso_storage.model import Condition, Model, ObjectType, Rule
from caruso_storage.records import Records, page
from caruso_storage.tables import VERSION_KEY

OPERATIONS = ("create", "update", "delete")
OPERATION_KEYS = frozenset({"op", "object", "key", "values", "version"})
READS = ("get", "query", "count", "search", "related", "contact_history")
RESULTS = ("records", "keys", "count")
DUE_PAGE = 500
log = logging.getLogger("caruso.storage.rules")
startup_log = logging.getLogger("caruso.storage")


@service(name="storage", interface="caruso.storage/1", version="1.0.0", autostart=True)
class StorageManager:
    """Business objects over SQLite, PostgreSQL and existing databases, as the model maps them.

    ``model``: path of the model file, or a list of files applied in order (later files
    extend earlier ones; default: the packaged example CRM model);
    ``db``: URL of the model's first database (default: ``storage.db`` in the data
    folder); ``databases``: URLs of other databases by model name; ``due_every``: seconds
    between two runs of the model's due rules (0: only when :meth:`run_due_rules` is called);
    ``outbox``: how calls of rules are retried (:class:`~caruso_storage.delivery.Retries`);
    ``timezone``: the business's time zone (an IANA name, default UTC), in which ``today``
    is a day (a moving default or bound, a rule's ``${today}``); datetimes are kept in UTC.
    Rule actions call other services through the outbox, delivered by the instance's own
    :class:`~caruso_storage.delivery.Delivery` (started and stopped with it) through the
    client of the host's ``context``.
    """

    @classmethod
    def check_config(cls, config: dict[str, Any], folder: Path) -> None:
        """The model files of ``config`` (relative to ``folder``) make one valid model."""
        files = config.get("model")
        if not files:                   # the packaged model, as the service takes it
            return
        listed = [files] if isinstance(files, str) else files
        if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
            raise ConfigError(f"storage model must be a file name or a list of them, not {files!r}")
        loader.load([folder / name for name in listed])

    def __init__(self, model: str | list[str] | None = None, db: str | None = None,
                 databases: dict[str, str] | None = None, due_every: float = 60.0,
                 outbox: dict[str, Any] | None = None, timezone: str = "UTC",
                 context: HostContext | None = None) -> None:
        retries = Retries.of(outbox)
        self.zone = zones.zone(timezone, "storage timezone")
        self.model: Model = loader.load(model) if model else loader.load_default()
        self.engines = open_engines(self.model, db, dict(databases or {}))
        try:
            self.model, stored_types = existing.resolve(self.model, self.engines)
        except ConfigError:
            for engine in self.engines.values():
                engine.dispose()
            raise
        self.schema = tables.build(self.model)
        self.records = {name: Records(obj, self.schema.tables[name],
                                      limits_of(obj, self.schema.tables[name], stored_types.get(name),
                                                self.engines[obj.database].dialect), self.zone)
                        for name, obj in self.model.objects.items()}
        self.read_only = readonly.ReadOnlyWatch(self.engines)
        self.journal_database = journal_name(self.model)
        self.due_every = float(due_every)
        self._stopping = threading.Event()
        self._due_thread: threading.Thread | None = None
        self._batch = threading.local()   # the connections a read() batch holds, per thread
        self._prepare()
        self.delivery = Delivery((context or HostContext.standalone("storage")).client,
                                 self.engines[self.journal_database], self.journal_database, retries,
                                 self._transaction, self._write_back)

    def _prepare(self) -> None:
        """Create missing tables of new objects, their searches' indexes, and the journal (existing
        tables are checked when the model is resolved against the databases)."""
        for name in self.model.databases:
            engine, owned = self.engines[name], self.schema.new_tables(self.model, name)
            if owned:
                with engine.connect().execution_options(caruso_write=True) as connection, connection.begin():
                    self.schema.metadata[name].create_all(connection, tables=owned)
                    for obj in self.model.objects.values():
                        if obj.database == name and not obj.existing:
                            searching.prepare(connection, obj)
                    for table in migrate.reusing_keys(connection, owned):
                        startup_log.warning("table %s gives a deleted record's key again (made before tables with "
                                            "a generated key were AUTOINCREMENT): caruso model upgrade rebuilds it",
                                            table.name)
        migrate.upgrade_journal(self.engines[self.journal_database])

    def start(self) -> None:
        self.delivery.start()
        if self.due_every > 0 and any(rule.at for obj in self.model.objects.values() for rule in obj.rules):
            self._due_thread = threading.Thread(target=self._sweep, name="caruso-storage-due", daemon=True)
            self._due_thread.start()

    def stop(self) -> None:
        self.delivery.stop()
        self._stopping.set()
        if self._due_thread is not None:
            self._due_thread.join()
        for engine in self.engines.values():
            engine.dispose()

    def _sweep(self) -> None:
        while not self._stopping.wait(self.due_every):
            try:
                self.run_due_rules()
            except Exception:
                log.exception("running the due rules failed")

    def health(self) -> dict[str, Any]:
        """``ok``, or ``degraded`` with the ``reason`` when a database is read-only (reads still work)."""
        answer = {"status": "ok", "objects": len(self.model.objects), "databases": sorted(self.engines)}
        read_only = self.read_only.reasons()
        if read_only:
            answer.update(status="degraded", reason="; ".join(readonly.describe(name, reason)
                                                              for name, reason in sorted(read_only.items())))
        return answer

    # -- single operations -------------------------------------------------------------------

    @remote
    def create(self, object: str, values: dict[str, Any]) -> dict[str, Any]:
        """Create an object; returns the stored record."""
        with self._transaction() as transaction:
            return self._records(object).wire(self._create(transaction, object, values))

    @remote
    def get(self, object: str, key: Any) -> dict[str, Any]:
        """The record of the object with ``key``."""
        records = self._records(object)
        key = records.key_of(key)
        with self._read(records.obj) as connection:
            return records.wire(records.fetch(connection, key))

    @remote
    def update(self, object: str, key: Any, values: dict[str, Any], version: Any = None) -> dict[str, Any]:
        """Change attributes; with ``version``, only if the object is still at that version."""
        with self._transaction() as transaction:
            return self._records(object).wire(self._update(transaction, object, key, values, version))

    @remote
    def delete(self, object: str, key: Any, version: Any = None) -> None:
        """Delete an object; with ``version``, only if it is still at that version."""
        with self._transaction() as transaction:
            self._delete(transaction, object, key, version)

    @remote
    def query(self, object: str, where: Any = None, order_by: Any = None, limit: int = 100,
              offset: int = 0, include: list[str] | None = None) -> list[dict[str, Any]]:
        """Records matching the filter ``where``, ordered and paged, each with the related
        objects of the relation paths ``include`` (one SQL query per relation, see :mod:`caruso_storage.eager`)."""
        records = self._records(object)
        condition = filters.parse(records.obj, where)
        paths = eager.tree(records.obj, self.model.objects, include)
        with self._read(records.obj) as connection:
            page = records.select(connection, condition, order_by, limit, offset)
        if not paths:
            return records.plain(page)
        return eager.attach(records, page, paths, self.records, self.schema.links, self._read_database)

    @remote
    def count(self, object: str, where: Any = None) -> int:
        """How many objects match the filter ``where``."""
        records = self._records(object)
        condition = filters.parse(records.obj, where)
        with self._read(records.obj) as connection:
            return records.count(connection, condition)

    @remote
    def search(self, object: str, search: str, text: str, where: Any = None, limit: int = 20,
               offset: int = 0) -> list[dict[str, Any]]:
        """The objects holding every word of ``text`` in the attributes of the model's full-text
        ``search``, best match first (then by key), that match the filter ``where``, paged
        (see :mod:`caruso_storage.search`)."""
        records = self._records(object)
        declared = searching.of(records.obj, search)
        found = searching.words(text, declared)
        condition = filters.parse(records.obj, where)
        if not found:
            return []
        with self._read(records.obj) as connection:
            source, also, ranking, contained = searching.matching(connection, records.obj, records.table,
                                                                  declared, found)
            if contained is not None:
                condition = contained if condition is None else Condition("and", items=(condition, contained))
            page = records.select(connection, condition, None, limit, offset, also, source, ranking)
        return records.plain(page)

    # -- relations ---------------------------------------------------------------------------

    @remote
    def related(self, object: str, key: Any, relation: str, where: Any = None, order_by: Any = None,
                limit: int = 100, offset: int = 0) -> Any:
        """The objects ``relation`` leads to: a record or None (to-one), else a list."""
        source, definition = self._relation(object, relation)
        target = self.records[definition.target]
        record = self._existing(source, key)
        if definition.kind == "many-to-one":
            parts = [record[name] for name in definition.foreign_key]
            if any(part is None for part in parts):
                return None
            with self._read(target.obj) as connection:
                found = target.select(connection, target.where_equal(target.key, parts), limit=1)
            return target.wire(found[0]) if found else None
        key_values = [record[name] for name in source.key]
        condition = filters.parse(target.obj, where)
        if definition.kind == "one-to-many":
            link = target.where_equal(definition.foreign_key, key_values)
            condition = link if condition is None else Condition("and", items=(link, condition))
            also = None
        else:
            also = self._linked(object, relation, key_values)
        with self._read(target.obj) as connection:
            return target.plain(target.select(connection, condition, order_by, limit, offset, also))

    @remote
    def link(self, object: str, key: Any, relation: str, other_key: Any) -> None:
        """Add ``other_key`` to the many-to-many ``relation`` of the object with ``key``."""
        self._link(object, key, relation, other_key, add=True)

    @remote
    def unlink(self, object: str, key: Any, relation: str, other_key: Any) -> None:
        """Remove ``other_key`` from the many-to-many ``relation`` of the object with ``key``."""
        self._link(object, key, relation, other_key, add=False)

    def _link(self, object: str, key: Any, relation: str, other_key: Any, add: bool) -> None:
        source, definition = self._relation(object, relation)
        if definition.kind != "many-to-many":
            raise InvalidInput(f"{object}.{relation} is {definition.kind}: link and unlink need many-to-many")
        target = self.records[definition.target]
        table = self.schema.links[(object, relation)]
        with self._transaction() as transaction:
            connection = transaction.connection(source.obj.database)
            mine = source.fetch(connection, source.key_of(key))
            theirs = target.fetch(connection, target.key_of(other_key))
            row = {column: mine[name] for column, name in zip(definition.source_columns, source.key)}
            row |= {column: theirs[name] for column, name in zip(definition.target_columns, target.key)}
            match = [table.c[column] == value for column, value in row.items()]
            connection.execute(table.delete().where(*match))
            if add:
                connection.execute(table.insert(), row)

    def _linked(self, object: str, relation: str, key_values: list[Any]) -> Any:
        definition = self.model.objects[object].relations[relation]
        table = self.schema.links[(object, relation)]
        target = self.records[definition.target]
        inner = select(*(table.c[c] for c in definition.target_columns)).where(
            *(table.c[c] == v for c, v in zip(definition.source_columns, key_values)))
        columns = [target.table.c[name] for name in target.key]
        return columns[0].in_(inner) if len(columns) == 1 else tuple_(*columns).in_(inner)

    def _relation(self, object: str, relation: str) -> tuple[Records, Any]:
        records = self._records(object)
        definition = records.obj.relations.get(relation) if isinstance(relation, str) else None
        if definition is None:
            raise InvalidInput(f"{object} has no relation {relation!r} "
                               f"(relations: {', '.join(records.obj.relations) or 'none'})")
        return records, definition

    # -- batches ----------------------------------------------------------------------------

    @remote
    def apply(self, operations: list[dict[str, Any]] | str, results: str = "records") -> list[Any] | int:
        """Run create/update/delete operations atomically; one result per operation.

        Creates of one object in a row are inserted together (one ``executemany``), then
        their rules on create run in order.

        ``operations`` may also be one JSON text of that list (large batches cross the
        wire much faster so). ``results="keys"`` returns ``{"key": ..., "_version": ...}``
        for creates and updates instead of whole records; ``results="count"`` returns
        only the number of operations applied (bulk loads that need nothing back).
        """
        operations = _listed(operations, "operations")
        if results not in RESULTS:
            raise InvalidInput(f"results must be one of {', '.join(RESULTS)}")
        shape = self._shape(results)
        outcome: list[Any] = [None] * len(operations)
        with self._transaction() as transaction:
            pending: list[tuple[int, dict[str, Any]]] = []
            for index, operation in enumerate(operations):
                try:
                    kind, records = self._operation(operation)
                except CarusoError as error:
                    raise _at(error, str(index)) from None
                if kind == "create":
                    if pending and pending[0][1]["object"] != operation["object"]:
                        self._insert_pending(transaction, pending, outcome, shape)
                    pending.append((index, operation))
                    continue
                self._insert_pending(transaction, pending, outcome, shape)
                try:
                    outcome[index] = self._run(transaction, kind, operation, shape)
                except CarusoError as error:
                    raise _at(error, str(index)) from None
            self._insert_pending(transaction, pending, outcome, shape)
        return len(outcome) if results == "count" else outcome

    @remote
    def read(self, requests: list[dict[str, Any]] | str) -> list[Any] | str:
        """Several reads in one round trip; one result per request, in order.

        A request names ``op`` (one of get, query, count, related, contact_history) and
        that method's arguments by name, e.g. ``{"op": "query", "object": "Task",
        "where": {...}, "limit": 10}``. The first request that fails fails the call, its
        index in the message. Requests given as one JSON text get their results as one
        JSON text (large answers cross the wire much faster so).
        """
        as_text = isinstance(requests, str)
        self._batch.connections = held = {}
        try:
            results = [self._read_one(index, request)
                       for index, request in enumerate(_listed(requests, "requests"))]
        finally:
            del self._batch.connections
            for connection in held.values():
                connection.close()
        # plain data the service built holds no cycles: the encoder need not look for them
        return json.dumps(results, separators=(",", ":"), check_circular=False) if as_text else results

    def _read_one(self, index: int, request: Any) -> Any:
        try:
            if not isinstance(request, dict) or request.get("op") not in READS:
                raise InvalidInput(f"a request is a dict with op one of {', '.join(READS)}")
            method = getattr(self, request["op"])
            arguments = {name: value for name, value in request.items() if name != "op"}
            try:
                READ_SIGNATURES[request["op"]].bind(None, **arguments)
            except TypeError as error:
                raise InvalidInput(f"{request['op']}: {error}") from None
            return method(**arguments)
        except CarusoError as error:
            raise _at(error, str(index)) from None

    @staticmethod
    def _shape(results: str) -> Callable[[Records, dict[str, Any]], Any]:
        if results == "count":
            return lambda records, record: None
        if results == "keys":
            def keys(records: Records, record: dict[str, Any]) -> dict[str, Any]:
                plain = records.wire(record)
                return {"key": records.key_value(plain), VERSION_KEY: plain[VERSION_KEY]}
            return keys
        return lambda records, record: records.wire(record)

    def _operation(self, operation: Any) -> tuple[str, Records]:
        if not isinstance(operation, dict) or operation.get("op") not in OPERATIONS:
            raise InvalidInput(f"an operation is a dict with op one of {', '.join(OPERATIONS)}")
        if not OPERATION_KEYS.issuperset(operation):
            unknown = set(operation) - OPERATION_KEYS
            raise InvalidInput(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        return operation["op"], self._records(operation.get("object"))

    def _insert_pending(self, transaction: Transaction, pending: list[tuple[int, dict[str, Any]]],
                        outcome: list[Any], shape: Callable[[Records, dict[str, Any]], Any]) -> None:
        if not pending:
            return
        records = self.records[pending[0][1]["object"]]
        rows = []
        for index, operation in pending:
            try:
                rows.append(records.new(operation.get("values")))
            except CarusoError as error:
                raise _at(error, str(index)) from None
        try:
            inserted = records.insert(transaction.connection(records.obj.database), rows)
        except CarusoError as error:
            raise _at(error, f"{pending[0][0]}-{pending[-1][0]}") from None
        fires = any("create" in rule.events for rule in records.obj.rules)
        for (index, _), record in zip(pending, inserted):
            if fires:
                try:
                    record = self._fire(transaction, records, "create", record, None, 0)
                except CarusoError as error:
                    raise _at(error, str(index)) from None
            outcome[index] = shape(records, record)
        pending.clear()

    def _run(self, transaction: Transaction, kind: str, operation: dict[str, Any],
             shape: Callable[[Records, dict[str, Any]], Any]) -> Any:
        records = self.records[operation["object"]]
        if kind == "update":
            return shape(records, self._update(transaction, operation["object"], operation.get("key"),
                                               operation.get("values"), operation.get("version")))
        self._delete(transaction, operation["object"], operation.get("key"), operation.get("version"))
        return None

    # -- the writes, inside a transaction ----------------------------------------------------

    def _create(self, transaction: Transaction, object: str, data: Any, depth: int = 0) -> dict[str, Any]:
        records = self._records(object)
        record = records.insert(transaction.connection(records.obj.database), [records.new(data)])[0]
        return self._fire(transaction, records, "create", record, None, depth)

    def _update(self, transaction: Transaction, object: str, key: Any, data: Any, version: Any,
                depth: int = 0) -> dict[str, Any]:
        records = self._records(object)
        connection = transaction.connection(records.obj.database)
        old, new = records.update(connection, records.key_of(key), data, version)
        return self._fire(transaction, records, "update", new, old, depth)

    def _delete(self, transaction: Transaction, object: str, key: Any, version: Any) -> None:
        records = self._records(object)
        records.delete(transaction.connection(records.obj.database), records.key_of(key), version)

    def _fire(self, transaction: Transaction, records: Records, event: str, new: dict[str, Any],
              old: dict[str, Any] | None, depth: int, only: Rule | None = None) -> dict[str, Any]:
        """Run the object's rules for ``event``; returns the object's record as the rules left it."""
        if not records.obj.rules:
            return new
        if depth >= rules.MAX_DEPTH:
            raise ConfigError(f"rules of {records.obj.name}: actions change objects {rules.MAX_DEPTH} levels deep; "
                              "check the model's rules for a cycle")
        key = records.key_value(new)
        latest = [new]

        def create(object: str, data: dict[str, Any]) -> Any:
            created = self._create(transaction, object, self._rule_values(object, data), depth + 1)
            return self.records[object].key_value(created)

        def update(object: str, other: Any, data: dict[str, Any]) -> Any:
            changed = self._update(transaction, object, other, self._rule_values(object, data), None, depth + 1)
            changed_key = self.records[object].key_value(changed)
            if object == records.obj.name and changed_key == key:
                latest[0] = changed
            return changed_key

        def log(rule: Rule, action: str, message: str) -> None:
            journal.log_rule(transaction.connection(self.journal_database), records.obj.name, key,
                             rule.name, action, message)

        def related(field: str) -> Any:
            return self._path_value(transaction, records, new, field)

        def post(rule: str, interface: str, method: str, arguments: dict[str, Any], result: str | None) -> int:
            row = outbox.add(transaction.connection(self.journal_database), rule, records.obj.name, key,
                             interface, method, arguments, result)
            transaction.after_commit(self.delivery.wake)
            return row

        rules.fire(records.obj, event, key, new, old, transaction, create, update, post, log, only, related,
                   self.zone)
        return latest[0]

    def _rule_values(self, object: str, data: dict[str, Any]) -> dict[str, Any]:
        """A rule's values for ``object`` as plain data; a day (``${today}``, a date attribute's
        value) set into a datetime is its midnight in the business's time zone, as a datetime's
        ``default="today"`` is."""
        records = self.records.get(object)
        attributes = records.obj.attributes if records is not None else {}
        return {field: values.encode(values.midnight(value, self.zone) if type(value) is dt.date
                                     and field in attributes and attributes[field].type == "datetime" else value)
                for field, value in data.items()}

    def _path_value(self, transaction: Transaction, records: Records, record: dict[str, Any], field: str) -> Any:
        """The value at the dotted ``field`` from ``record`` along many-to-one relations, read in
        ``transaction`` (None where a reference is empty or leads nowhere)."""
        *names, attribute = field.split(".")
        for name in names:
            relation = records.obj.relations[name]
            parts = [record[part] for part in relation.foreign_key]
            records = self.records[relation.target]
            if any(part is None for part in parts):
                return None
            found = records.select(transaction.connection(records.obj.database),
                                   records.where_equal(records.key, parts), limit=1)
            if not found:
                return None
            record = found[0]
        return record[attribute]

    # -- due rules ----------------------------------------------------------------------------

    @remote
    def run_due_rules(self) -> int:
        """Run every due rule for the objects whose deadline (``at``) has passed, whose condition
        holds and for which it has not run at that deadline yet; returns how many runs there were.

        A datetime deadline passes at that moment (UTC), a date deadline at the end of that day
        in the business's time zone.
        Each run is its own transaction: a failing action undoes that run only (it is tried
        again next time) and is logged.
        """
        runs = 0
        moment = journal.now()
        for records in self.records.values():
            for rule in records.obj.rules:
                if rule.at is None:
                    continue
                dated = records.obj.attributes[rule.at].type == "date"
                passed = {"field": rule.at, "op": "lt" if dated else "le",
                          "value": values.encode(zones.today(self.zone) if dated else moment)}
                runs += self._run_due(records, rule, filters.parse(records.obj, passed))
        return runs

    def _run_due(self, records: Records, rule: Rule, passed: Condition) -> int:
        candidates: list[dict[str, Any]] = []
        with self._read(records.obj) as connection:
            while True:
                found = records.select(connection, passed, None, DUE_PAGE, len(candidates))
                candidates += found
                if len(found) < DUE_PAGE:
                    break
        with self._read_database(self.journal_database) as connection:
            marks = journal.due_marks(connection, records.obj.name, rule.name)
        runs = 0
        for record in candidates:
            key = records.key_value(record)
            if marks.get(journal.key_text(key)) == journal.deadline_text(record[rule.at]) \
                    or not (filters.paths(rule.condition) or filters.matches(rule.condition, record, record)):
                continue
            try:
                with self._transaction() as transaction:
                    # a condition over related objects is judged within the run, before it is claimed
                    claimed = rules.holds(rule, record, record, lambda field, record=record: self._path_value(
                        transaction, records, record, field)) and journal.claim_due(
                        transaction.connection(self.journal_database), records.obj.name, key, rule.name,
                        record[rule.at])
                    if claimed:
                        self._fire(transaction, records, "due", record, record, 0, only=rule)
            except IntegrityError:
                continue
            except CarusoError as error:
                log.warning("due rule %s of %s %s: %s", rule.name, records.obj.name, key, error.message)
                continue
            runs += claimed
        return runs

    # -- model, contact history, rule log ----------------------------------------------------

    @remote
    def describe(self, object: str | None = None) -> dict[str, Any]:
        """The model's metadata: objects, attributes, keys, relations, rules (docs/storage.md)."""
        if object is not None:
            return describe_object(self._records(object).obj)
        return describe_model(self.model)

    @remote
    def add_contact(self, object: str, key: Any, contact: dict[str, Any]) -> dict[str, Any]:
        """Append an interaction to the contact history of the object with ``key``."""
        records = self._records(object)
        key = records.key_value(self._existing(records, key))
        with self._transaction() as transaction:
            return journal.add_contact(transaction.connection(self.journal_database), object, key, contact)

    @remote
    def contact_history(self, object: str, key: Any, channels: list[str] | None = None, limit: int = 100,
                        offset: int = 0) -> list[dict[str, Any]]:
        """The contact history of the object with ``key``, newest first."""
        records = self._records(object)
        key = records.key_value(self._existing(records, key))
        limit, offset = page(limit, offset)
        with self._read_database(self.journal_database) as connection:
            return journal.contacts(connection, object, key, channels, limit, offset)

    @remote
    def rule_log(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest rule actions run, newest first."""
        limit, _ = page(limit, 0)
        with self._read_database(self.journal_database) as connection:
            return journal.rule_entries(connection, limit)

    # -- outbox --------------------------------------------------------------------------------

    @remote
    def outbox(self, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest outbox rows (``pending``, ``delivered`` or ``failed`` only if ``state``
        is given), newest first: the calls rules made, their attempts, next try and last error."""
        limit, _ = page(limit, 0)
        with self._read_database(self.journal_database) as connection:
            return outbox.entries(connection, state, limit)

    @remote
    def retry_outbox(self, id: int) -> dict[str, Any]:
        """Send the failed outbox row ``id`` again now (its attempts counted anew); returns the row."""
        with self._transaction() as transaction:
            row = outbox.retry_now(transaction.connection(self.journal_database), id)
        self.delivery.wake()
        return row

    def _write_back(self, transaction: Transaction, object: str, key: Any, data: dict[str, Any]) -> None:
        self._update(transaction, object, key, data, None, 0)

    # -- helpers ----------------------------------------------------------------------------

    def _existing(self, records: Records, key: Any) -> dict[str, Any]:
        with self._read(records.obj) as connection:
            return records.fetch(connection, records.key_of(key))

    def _records(self, object: Any) -> Records:
        records = self.records.get(object) if isinstance(object, str) else None
        if records is None:
            raise NotFound(f"the model has no object {object!r} (objects: {', '.join(self.records)})")
        return records

    def _transaction(self) -> Transaction:
        return Transaction(self.engines, self.read_only)

    def _read(self, obj: ObjectType) -> Any:
        return self._read_database(obj.database)

    def _read_database(self, name: str) -> Any:
        """A connection to read database ``name``: inside :meth:`read`, the one the batch
        holds (opened at first use), else a pooled one for this read."""
        held = getattr(self._batch, "connections", None)
        if held is None:
            return self.engines[name].connect()
        if name not in held:
            held[name] = self.engines[name].connect()
        return contextlib.nullcontext(held[name])


# what each request of read() may name: the arguments of the method it runs (``self`` bound to None)
READ_SIGNATURES = {op: signature(getattr(StorageManager, op)) for op in READS}


def _listed(data: list[Any] | str, name: str) -> list[Any]:
    """``data``, a list given as such or as JSON text; InvalidInput naming ``name`` if not."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as error:
            raise InvalidInput(f"{name}: not a JSON list ({error})") from None
    if not isinstance(data, list):
        raise InvalidInput(f"{name}: a list is needed")
    return data


def _at(error: CarusoError, where: str) -> CarusoError:
    return type(error)(f"operation {where}: {error.message}", **{**error.details, "operation": where})
