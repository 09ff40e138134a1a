"""Reports read only what the communication server publishes of its event log
(caruso_comm.events): the table's columns and the events' fields, in every query the
engine runs for every measure, dimension and filter."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql import operators, visitors

from caruso_comm.eventlog import EventLog
from caruso_comm.events import EVENTS, table
from caruso_reports import definition, engine
from caruso_reports.measures import AGENTS, CATALOGUE, DIMENSIONS

PUBLISHED_FIELDS = {field for spec in EVENTS.values() for field in spec.fields}
INTERACTIONS = [name for name, measure in CATALOGUE.items() if measure.source != AGENTS]
AGENT_TIMES = [name for name, measure in CATALOGUE.items() if measure.source == AGENTS]


def _reads(statement: sa.ClauseElement) -> tuple[set[str], set[str]]:
    """The columns of ``comm_events`` (or an alias of it) and the ``data`` fields a statement reads."""
    columns, fields = set(), set()
    for element in visitors.iterate(statement):
        if isinstance(element, sa.Column) and _of_the_log(element.table):
            columns.add(element.name)
        if isinstance(element, sa.BinaryExpression) and element.operator in (
                operators.json_getitem_op, operators.json_path_getitem_op):
            fields.add(element.right.value)
    return columns, fields


def _of_the_log(source: sa.FromClause) -> bool:
    return source is table or (isinstance(source, sa.Alias) and source.original is table)


def _run(tmp_path, report: dict) -> tuple[set[str], set[str]]:
    """Compute ``report`` on an event log; what its queries read."""
    url = f"sqlite:///{tmp_path / 'comm.db'}"
    EventLog(url).close()
    log = sa.create_engine(url)
    statements = []
    sa.event.listen(log, "before_execute", lambda connection, statement, *rest: statements.append(statement))
    engine.compute(log, definition.from_mapping(report, "published", "test"))
    columns, fields = set(), set()
    for statement in statements:
        read = _reads(statement)
        columns |= read[0]
        fields |= read[1]
    return columns, fields


def test_interaction_measures_read_only_published_columns_and_fields(tmp_path):
    columns, fields = _run(tmp_path, {
        "measures": INTERACTIONS, "dimensions": list(DIMENSIONS), "from": "2026-01-01", "to": "2026-02-01",
        "filters": {dimension: ["x"] for dimension in DIMENSIONS if dimension != "period"}})
    assert columns <= {column.name for column in table.columns} and {"event", "data"} <= columns
    assert fields <= PUBLISHED_FIELDS and {"wait", "talk", "channel", "campaign", "of"} <= fields


def test_agent_times_read_only_published_columns_and_fields(tmp_path):
    columns, fields = _run(tmp_path, {"measures": AGENT_TIMES, "dimensions": ["period", "agent"],
                                      "from": "2026-01-01", "filters": {"agent": ["ann"]}})
    assert columns <= {column.name for column in table.columns} and "agent" in columns
    assert fields == {"status", "state"}
