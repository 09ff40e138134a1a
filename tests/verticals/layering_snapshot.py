"""What a model makes of its objects, as plain data: the storage's describe() entry and the
DDL of each table (SQLite and PostgreSQL), per object.

``before/*.json`` hold this for the objects each vertical's model declared itself before
the verticals were rebuilt on the CRM base module (recorded from commit cd39441; each
attribute's ``choice_labels``, ``min`` and ``max`` (and ``min_field``, and a decimal's ``scale``),
which describe() gained later, are as the models declare them now: none declared labels, and bounds only where a
vertical added them;
the bank's Complaint lists the rule ``answer_due_in_eight_weeks``, its Card
``lost_and_stolen_cards_stay_blocked``, the service's FieldServiceOrder
``equipment_of_the_customer`` and the utility's ServiceOrder its relation ``connection`` and
the rules ``connection_of_the_customer`` and ``move_out_on_a_date``, and its OutageReport
the relation ``customer``, added later; the service's FieldServiceOrder ``opened`` and the
utility's Outage ``started`` and OutageReport ``reported`` default to ``now`` since, the bank's
Complaint ``received`` and the utility's MeterReading ``read_on`` to ``today``, and
``started`` is at most ``now``).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable

from caruso_storage import tables
from caruso_storage.describe import describe_object
from caruso_storage.model import Model

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}


def snapshot(model: Model, names: list[str]) -> dict[str, Any]:
    """``{object: {"describe": ..., "ddl": {dialect: {"create", "columns", "key", "indexes"}}}}``."""
    schema = tables.build(model)
    taken = {}
    for name in names:
        table = schema.tables[name]
        ddl = {}
        for dialect_name, dialect in DIALECTS.items():
            ddl[dialect_name] = {
                "create": str(CreateTable(table).compile(dialect=dialect)).strip(),
                "columns": {column.name: str(CreateColumn(column).compile(dialect=dialect))
                            for column in table.columns},
                "key": [column.name for column in table.primary_key.columns],
                "indexes": sorted(str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes)}
        taken[name] = {"describe": describe_object(model.objects[name]), "ddl": ddl}
    return taken
