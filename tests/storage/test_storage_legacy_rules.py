"""Rules that look across many-to-one relations and refuse writes, on the utility's legacy
tables over Pyro5 on SQLite, PostgreSQL and MariaDB: a refused write leaves every table
as it was, the rest of its batch included."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

import utility_tables
from caruso_core.errors import ConfigError, InvalidInput
from caruso_storage import loader
from conftest import raw_engine

MODELS = Path(__file__).parent / "models"
RULES = MODELS / "utility_rules.xml"


@pytest.fixture
def billing(database_url: str, caruso_host, caruso_client):
    engine = raw_engine(database_url)
    data = utility_tables.create(engine)
    caruso_host("storage", config={"model": [str(MODELS / "utility.xml"), str(RULES)], "db": database_url})
    yield caruso_client.get("caruso.storage/1"), engine, data
    engine.dispose()


def contracts_where(data, cancelled: set, active: set) -> list[int]:
    """Contracts whose STORNO code is in ``cancelled`` and whose holder's AKTIV code is in ``active``."""
    holders = {row["KDNR"]: row["AKTIV"] for row in data["KUNDE_STAMM"]}
    return [row["VTNR"] for row in data["VERTRAG"] if row["STORNO"] in cancelled and holders[row["KDNR"]] in active]


def table_state(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for table in ("VERTRAG ORDER BY VTNR", "ZAEHLERSTAND ORDER BY VTNR, LFDNR")
                for row in connection.execute(sa.text(f"SELECT * FROM {table}"))]


def test_conditions_over_relations_refuse_writes_with_their_message(billing):
    storage, engine, data = billing
    fine = contracts_where(data, {"N", "n", None}, {"J", "j"})[0]
    cancelled = contracts_where(data, {"Y", "y"}, {"J", "j", None, "X"})[0]
    inactive = contracts_where(data, {"N", "n", None, "?"}, {"N", "n"})[0]
    storage.create("Reading", {"contract": fine, "position": 10, "read_at": "2026-01-02T03:04:05", "value": 5})
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT ABLDAT, ABLZEIT, STAND FROM ZAEHLERSTAND "
                                          "WHERE VTNR = :c AND LFDNR = 10"), {"c": fine}).one() \
            == ("20260102", "030405", 5)
    before = table_state(engine)
    with pytest.raises(InvalidInput, match=rf"rule no_readings_when_cancelled of Reading, action reject: "
                                           rf"contract {cancelled} is cancelled: no new readings"):
        storage.create("Reading", {"contract": cancelled, "position": 10, "value": 1})
    with pytest.raises(InvalidInput, match=rf"contract {cancelled} is cancelled"):
        storage.update("Reading", {"contract": cancelled, "position": 1}, {"value": 1})
    with pytest.raises(InvalidInput, match=rf"the holder of contract {inactive} is inactive"):
        storage.create("Reading", {"contract": inactive, "position": 10, "value": 1})
    assert table_state(engine) == before


def test_a_refusal_undoes_its_whole_batch_and_sees_the_batch_s_own_changes(billing):
    storage, engine, data = billing
    fine = contracts_where(data, {"N", "n", None}, {"J", "j"})
    cancelled = contracts_where(data, {"Y", "y"}, {"J", "j", None, "X"})[0]
    before = table_state(engine)
    with pytest.raises(InvalidInput, match=rf"operation 1: .*contract {cancelled} is cancelled") as refused:
        storage.apply([{"op": "create", "object": "Reading", "values": {"contract": fine[0], "position": 11}},
                       {"op": "create", "object": "Reading", "values": {"contract": cancelled, "position": 11}}])
    assert refused.value.details["rule"] == "no_readings_when_cancelled"
    with pytest.raises(InvalidInput, match=rf"operation 2: .*contract {fine[1]} is cancelled"):
        storage.apply([{"op": "create", "object": "Reading", "values": {"contract": fine[0], "position": 12}},
                       {"op": "update", "object": "Contract", "key": fine[1], "values": {"cancelled": True}},
                       {"op": "create", "object": "Reading", "values": {"contract": fine[1], "position": 12}}])
    assert table_state(engine) == before
    storage.apply([{"op": "create", "object": "Reading", "values": {"contract": fine[1], "position": 12}},
                   {"op": "update", "object": "Contract", "key": fine[1], "values": {"cancelled": True}}])
    assert storage.count("Reading", {"field": "contract", "op": "eq", "value": fine[1]}) == 4
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT STORNO FROM VERTRAG WHERE VTNR = :c"), {"c": fine[1]}).scalar() == "Y"


@pytest.mark.parametrize("rule, message", [
    ('<test field="contract_of.readings.value" op="eq" value="1"/>',
     r"filter: contract_of\.readings\.value: Contract has no many-to-one relation 'readings' \(many-to-one relations: holder\)"),
    ('<test field="contract_of.holder.colour" op="eq" value="1"/>',
     r"filter: contract_of\.holder\.colour: Customer has no field 'colour'"),
    ('<test field="contract_of.cancelled" op="changed"/>',
     r"filter: changed compares with the object's values before the change: contract_of\.cancelled is a related object's"),
    ('<test field="contract_of.created" op="gt" value="soon"/>', r"created: 'soon' is not a valid date"),
])
def test_paths_in_conditions_are_checked_when_the_model_loads(tmp_path, rule, message):
    broken = tmp_path / "rules.xml"
    broken.write_text(RULES.read_text().replace('<test field="contract_of.cancelled" op="eq" value="true"/>', rule))
    with pytest.raises(ConfigError, match=rf"rules\.xml:\d+: rule no_readings_when_cancelled: {message}"):
        loader.load([MODELS / "utility.xml", broken])


def test_reject_needs_its_message(tmp_path):
    broken = tmp_path / "rules.xml"
    broken.write_text(RULES.read_text().replace("<set field=\"message\">contract ${contract} is cancelled: "
                                                "no new readings</set>", ""))
    with pytest.raises(ConfigError, match=r"rules\.xml:\d+: rule no_readings_when_cancelled: action reject: needs one "
                                          r"<set field=\"message\">"):
        loader.load([MODELS / "utility.xml", broken])


SET_COMPOSITE = """<model name="meters">
  <extend object="Contract">
    <rule name="first_reading_follows_the_end" on="update">
      <when><test field="end" op="changed"/></when>
      <action use="set" object="Reading" key="KEY"><set field="read_at">${end}</set></action>
    </rule>
  </extend>
</model>"""


@pytest.fixture
def with_rules(database_url, tmp_path, make_storage):
    """Make the utility's tables, and a storage of utility.xml extended by a rules file."""
    engine = raw_engine(database_url)
    data = utility_tables.create(engine)

    def make(text: str, **config):
        rules = tmp_path / "rules.xml"
        rules.write_text(text)
        return make_storage([str(MODELS / "utility.xml"), str(rules)], **config), rules

    yield make, engine, data
    engine.dispose()


def test_set_names_each_part_of_a_composite_key(with_rules):
    make, engine, data = with_rules
    storage, rules = make(SET_COMPOSITE.replace("KEY", "contract=${number} position=1"))
    contract = data["VERTRAG"][0]["VTNR"]
    storage.update("Contract", contract, {"end": "2030-01-31"})
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT ABLDAT, ABLZEIT FROM ZAEHLERSTAND WHERE VTNR = :c AND LFDNR = 1"),
                                  {"c": contract}).one() == ("20300131", "000000")
    assert storage.rule_log(1)[0]["message"] == f"set Reading contract={contract}, position=1: read_at"
    rules.write_text(SET_COMPOSITE.replace("KEY", "${number}"))
    with pytest.raises(ConfigError, match=r"rules\.xml:\d+: rule first_reading_follows_the_end: action set: "
                                          r"key=\"...\" of Reading names its parts: contract=\$\{...\} "
                                          r"position=\$\{...\}"):
        loader.load([MODELS / "utility.xml", rules])


DUE_OVER_RELATION = """<model name="endings">
  <extend object="Contract">
    <rule name="ended_for_an_active_holder" on="due" at="end">
      <when><test field="holder.active" op="eq" value="true"/></when>
      <action use="notify" to="billing"><set field="message">contract ${number} ended</set></action>
    </rule>
  </extend>
</model>"""


def test_a_due_rule_over_a_relation_runs_once_its_condition_holds(with_rules):
    make, engine, data = with_rules
    storage, _ = make(DUE_OVER_RELATION, due_every=0)
    holders = {row["KDNR"]: row["AKTIV"] for row in data["KUNDE_STAMM"]}
    today = int(dt.date.today().strftime("%Y%m%d"))
    ended = [row for row in data["VERTRAG"] if row["ENDE"] and row["ENDE"] < today]
    active = [row["VTNR"] for row in ended if holders[row["KDNR"]] in ("J", "j")]
    waiting = next(row for row in ended if holders[row["KDNR"]] in ("N", "n"))
    assert storage.run_due_rules() == len(active) > 0
    assert storage.run_due_rules() == 0
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE KUNDE_STAMM SET AKTIV = 'J' WHERE KDNR = :k"), {"k": waiting["KDNR"]})
    woken = [row["VTNR"] for row in ended if row["KDNR"] == waiting["KDNR"]]
    assert storage.run_due_rules() == len(woken)
    assert {entry["message"] for entry in storage.rule_log(len(woken))} == {f"notify billing: contract {n} ended"
                                                                           for n in woken}
