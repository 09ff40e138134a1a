"""Value ranges: an attribute's ``min`` and ``max`` bound what a create, an update, a batch
or an import may store (``today`` for a date: not in the future; another attribute's name:
not beyond its value), checked before anything is written; reads and filters are not
bounded. A model declaring them wrongly is refused with its file and line."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from caruso_core.cli import cli
from caruso_core.errors import ConfigError, InvalidInput
from caruso_storage import loader
from caruso_storage.service import StorageManager

MODEL = """<model name="ranges">
  <object name="Lead" table="lead">
    <attribute name="id" type="integer" key="true" generated="true"/>
    <attribute name="name" type="string" length="40" required="true"/>
    {attributes}
  </object>
</model>
"""
RANGED = """<attribute name="score" type="integer" min="0" max="100" default="0"/>
    <attribute name="deal" type="decimal" scale="2" min="0.50"/>
    <attribute name="born" type="date" min="1900-01-01" max="today"/>
    <attribute name="met" type="datetime" max="today"/>
    <attribute name="calls_at" type="time" min="08:00" max="18:00"/>
    <attribute name="ratio" type="float" min="-1" max="1"/>"""


def storage_of(tmp_path: Path, name: str, attributes: str):
    """A storage whose Lead has ``attributes``, on a new SQLite database; stopped at the end."""
    model = tmp_path / f"{name}.xml"
    model.write_text(MODEL.format(attributes=attributes))
    built = StorageManager(model=str(model), db=f"sqlite:///{tmp_path / f'{name}.db'}")
    yield built
    built.stop()


@pytest.fixture
def storage(tmp_path: Path):
    yield from storage_of(tmp_path, "ranges", RANGED)


def refused(storage, values: dict) -> str:
    with pytest.raises(InvalidInput) as caught:
        storage.create("Lead", {"name": "Ann", **values})
    return str(caught.value)


def test_values_at_the_bounds_are_stored_and_beyond_them_refused_naming_attribute_value_and_bound(storage):
    today = dt.datetime.now(dt.timezone.utc).date()          # the storage's zone: UTC
    kept = storage.create("Lead", {"name": "Ann", "score": 100, "deal": "0.50", "born": "1900-01-01",
                                   "met": f"{today.isoformat()}T23:59:59", "calls_at": "18:00", "ratio": -1})
    assert (kept["score"], kept["deal"], kept["born"], kept["calls_at"], kept["ratio"]) == (
        100, "0.50", "1900-01-01", "18:00:00", -1.0)
    assert storage.create("Lead", {"name": "Bo"})["score"] == 0                    # the default is within
    assert refused(storage, {"score": 150}) == "score: 150 is above 100, the most allowed"
    assert refused(storage, {"score": "-1"}) == "score: -1 is below 0, the least allowed"
    assert refused(storage, {"deal": "0.494"}) == "deal: 0.49 is below 0.50, the least allowed"   # as rounded
    assert refused(storage, {"born": "1899-12-31"}) == "born: 1899-12-31 is before 1900-01-01, the earliest allowed"
    tomorrow = (today + dt.timedelta(days=2)).isoformat()          # (after today even once midnight passed)
    assert refused(storage, {"born": tomorrow}) == f"born: {tomorrow} is after today, the latest allowed"
    assert refused(storage, {"met": f"{tomorrow}T00:00:00"}) == (
        f"met: {tomorrow} 00:00 is after today, the latest allowed")
    assert refused(storage, {"calls_at": "07:59"}) == "calls_at: 07:59 is before 08:00, the earliest allowed"
    assert refused(storage, {"ratio": 1.5}) == "ratio: 1.5 is above 1.0, the most allowed"
    assert storage.count("Lead") == 2


def test_updates_and_batches_are_bounded_and_a_refused_batch_writes_nothing(storage):
    lead = storage.create("Lead", {"name": "Ann", "score": 10})
    with pytest.raises(InvalidInput, match="score: 101 is above 100"):
        storage.update("Lead", lead["id"], {"score": 101})
    with pytest.raises(InvalidInput, match="1: score: 101 is above 100"):
        storage.apply([{"op": "create", "object": "Lead", "values": {"name": "Bo", "score": 5}},
                       {"op": "update", "object": "Lead", "key": lead["id"], "values": {"score": 101}}])
    assert [(r["name"], r["score"]) for r in storage.query("Lead")] == [("Ann", 10)]


def test_a_time_zone_against_bounds_without_one_and_nan_are_refused_in_one_line(storage):
    assert refused(storage, {"calls_at": "09:00+02:00"}) == (
        "calls_at: 09:00+02:00 has a time zone; its bounds have none: give it without")
    assert refused(storage, {"ratio": "nan"}) == "ratio: NaN is no number a bound can hold"
    with pytest.raises(InvalidInput, match="has a time zone"):
        storage.apply([{"op": "create", "object": "Lead", "values": {"name": "Ann", "calls_at": "10:00Z"}}])
    assert storage.count("Lead") == 0


def test_filters_and_reads_are_not_bounded(storage, tmp_path: Path):
    storage.create("Lead", {"name": "Ann", "score": 40})
    assert storage.count("Lead", {"and": [{"field": "score", "op": "lt", "value": 1000},
                                          {"field": "score", "op": "gt", "value": -5}]}) == 1
    storage.stop()
    # a bound declared after rows were stored: they read as they are, and stay editable otherwise
    narrower = tmp_path / "narrower.xml"
    narrower.write_text(MODEL.format(attributes=RANGED.replace('max="100"', 'max="30"')))
    again = StorageManager(model=str(narrower), db=f"sqlite:///{tmp_path / 'ranges.db'}")
    try:
        (lead,) = again.query("Lead")
        assert lead["score"] == 40
        assert again.update("Lead", lead["id"], {"name": "Anna"})["score"] == 40
        assert again.update("Lead", lead["id"], {"name": "Anne", "score": 40})["name"] == "Anne"   # as a form sends it
        with pytest.raises(InvalidInput, match="score: 31 is above 30"):
            again.update("Lead", lead["id"], {"score": 31})
    finally:
        again.stop()


def test_an_import_names_each_row_out_of_range_and_writes_nothing(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    source = tmp_path / "leads.csv"
    source.write_text("name,score\nAnn,10\nBo,150\nCy,-3\n")
    result = CliRunner().invoke(cli, ["data", "import", "Lead", str(source)])
    assert result.exit_code != 0
    text = f"{result.output}{result.exception or ''}"
    assert f"{source}:3: score: 150 is above 100, the most allowed" in text
    assert f"{source}:4: score: -3 is below 0, the least allowed" in text
    storage = StorageManager()
    try:
        assert storage.count("Lead") == 0
    finally:
        storage.stop()


@pytest.mark.parametrize("attribute, message", [
    ('<attribute name="x" type="string" min="a"/>',
     "Lead.x: min and max apply to integer, decimal, float, date, datetime, time, not to string"),
    ('<attribute name="x" type="integer" min="5low"/>', "Lead.x: min '5low' is not a valid integer nor the name of "
                                                        "an attribute"),
    ('<attribute name="x" type="integer" min="low"/>', 'Lead.x: min="low" is neither a valid integer nor another '
                                                       'attribute of Lead'),
    ('<attribute name="x" type="integer" max="x"/>', 'Lead.x: max="x" is neither a valid integer nor another '
                                                     'attribute of Lead'),
    ('<attribute name="x" type="decimal" max="inf"/>', "Lead.x: max 'inf' is not a valid decimal nor the name "
                                                        "of an attribute"),
    ('<attribute name="x" type="integer" max="name"/>', 'Lead.x: max="name" is a string; a bound is of the '
                                                        "attribute's own type (integer)"),
    ('<attribute name="x" type="date" max="2026-02-30"/>', "Lead.x: max '2026-02-30' is not a valid date"),
    ('<attribute name="x" type="integer" min="5" max="1"/>', "Lead.x: min 5 is above max 1"),
    ('<attribute name="x" type="time" max="today"/>', 'Lead.x: max="today" applies to a date or datetime'),
    ('<attribute name="x" type="integer" min="5" default="1"/>', "Lead.x: default 1 is below 5, the least allowed"),
    ('<attribute name="x" type="integer" max="3" choices="1|2|5"/>', "Lead.x: choice 5 is above 3, the most allowed"),
    ('<attribute name="x" type="float" min="nan"/>', "Lead.x: min 'nan' is not a valid float"),
    ('<attribute name="x" type="datetime" min="2026-01-01T00:00:00+02:00"/>',
     "Lead.x: min '2026-01-01T00:00:00+02:00' has a time zone; a bound has none"),
    ('<attribute name="x" type="integer" min=""/>', "attribute min"),
    (f'<attribute name="x" type="integer" max="{"9" * 64}"/>', "attribute max"),      # 63 characters at most
])
def test_a_model_declaring_a_range_wrongly_is_refused_with_its_line(tmp_path: Path, attribute, message):
    model = tmp_path / "bad.xml"
    model.write_text(MODEL.format(attributes=attribute))
    with pytest.raises(ConfigError) as caught:
        loader.load(model)
    assert str(caught.value).startswith(f"{model}:5: ") and message in str(caught.value), str(caught.value)


def test_a_key_takes_no_range_and_an_extension_cannot_change_one(tmp_path: Path):
    keyed = tmp_path / "keyed.xml"
    keyed.write_text(MODEL.replace('key="true" generated="true"', 'key="true" generated="true" min="1"')
                     .format(attributes=""))
    with pytest.raises(ConfigError, match=r"keyed.xml:3: Lead.id: a key attribute takes no min or max"):
        loader.load(keyed)
    base, extension = tmp_path / "base.xml", tmp_path / "extension.xml"
    base.write_text(MODEL.format(attributes=RANGED))
    extension.write_text('<model name="more">\n  <extend object="Lead">\n'
                         '    <attribute name="score" max="1000"/>\n  </extend>\n</model>\n')
    with pytest.raises(ConfigError, match=r"extension.xml:3: Lead.score: an extension may change the label, default "
                                          r"and length of an attribute, not its max \('100' to '1000'\)"):
        loader.load([base, extension])
    extension.write_text(extension.read_text().replace('name="score" max="1000"', 'name="deal" min="1"'))
    with pytest.raises(ConfigError, match=r"not its min \('0.50' to '1'\)"):
        loader.load([base, extension])
    dated = tmp_path / "dated.xml"         # a fixed default beside a today bound: the default is not checked
    dated.write_text(MODEL.format(attributes='<attribute name="due" type="date" min="today" default="2020-01-01"/>'))
    assert str(loader.load(dated).objects["Lead"].attributes["due"].default) == "2020-01-01"


def test_describe_gives_the_bounds_as_plain_data(storage):
    attributes = storage.describe("Lead")["attributes"]
    assert [(attributes[name]["min"], attributes[name]["max"]) for name in ("score", "deal", "born", "name")] == [
        (0, 100), ("0.50", None), ("1900-01-01", "today"), (None, None)]


PAIRED = """<attribute name="starts" type="date"/>
    <attribute name="ends" type="date" min="starts"/>
    <attribute name="opened" type="datetime"/>
    <attribute name="respond_by" type="datetime" min="opened" label="Respond by"/>
    <attribute name="low" type="integer"/>
    <attribute name="high" type="decimal" scale="2" min="low" max="cap"/>
    <attribute name="cap" type="float"/>"""


@pytest.fixture
def paired(tmp_path: Path):
    yield from storage_of(tmp_path, "paired", PAIRED)


def test_a_bound_naming_another_attribute_refuses_a_value_beyond_that_attributes(paired):
    kept = paired.create("Lead", {"name": "Ann", "starts": "2026-03-01", "ends": "2026-03-01",
                                  "low": 5, "high": "5.00", "cap": 5.0})
    assert (kept["ends"], kept["high"]) == ("2026-03-01", "5.00")                  # equal is within
    assert paired.create("Lead", {"name": "Bo", "ends": "1999-01-01", "high": "-3"})["ends"] == "1999-01-01"  # no pair
    assert refused(paired, {"starts": "2026-03-02", "ends": "2026-03-01"}) == (
        "ends: 2026-03-01 is before Starts, which is 2026-03-02")
    assert refused(paired, {"opened": "2026-03-02T10:00:00", "respond_by": "2026-03-02T09:59:59"}) == (
        "respond_by: 2026-03-02 09:59:59 is before Opened, which is 2026-03-02 10:00")
    assert refused(paired, {"low": 5, "high": "4.99"}) == "high: 4.99 is below Low, which is 5"
    assert refused(paired, {"high": "7.5", "cap": 7.25}) == "high: 7.50 is above Cap, which is 7.25"
    # a time zone, which the database would not keep, and NaN are refused as fixed bounds refuse them
    assert refused(paired, {"opened": "2026-03-02T10:00:00", "respond_by": "2026-03-02T12:00:00+02:00"}) == (
        "respond_by: 2026-03-02 12:00+02:00 has a time zone; it is compared with Opened: give it without")
    assert refused(paired, {"opened": "2026-03-02T10:00:00+02:00", "respond_by": "2026-03-02T12:00:00"}) == (
        "opened: 2026-03-02 10:00+02:00 has a time zone; it is compared with Respond by: give it without")
    assert refused(paired, {"high": "2", "cap": "nan"}) == "cap: NaN is no number a bound can hold"
    assert paired.count("Lead") == 2


def test_an_update_is_refused_naming_the_field_it_changed_and_a_refused_batch_writes_nothing(paired):
    lead = paired.create("Lead", {"name": "Ann", "starts": "2026-03-01", "ends": "2026-03-10"})
    with pytest.raises(InvalidInput) as caught:
        paired.update("Lead", lead["id"], {"ends": "2026-02-28"})
    assert (str(caught.value), caught.value.details["field"]) == (
        "ends: 2026-02-28 is before Starts, which is 2026-03-01", "ends")
    with pytest.raises(InvalidInput) as caught:          # the other end moved: that one is named
        paired.update("Lead", lead["id"], {"starts": "2026-03-11", "ends": "2026-03-10"})
    assert (str(caught.value), caught.value.details["field"]) == (
        "starts: 2026-03-11 is after Ends, which is 2026-03-10", "starts")
    with pytest.raises(InvalidInput, match="1: ends: 2026-01-01 is before Starts"):
        paired.apply([{"op": "update", "object": "Lead", "key": lead["id"], "values": {"name": "Anna"}},
                      {"op": "update", "object": "Lead", "key": lead["id"], "values": {"ends": "2026-01-01"}}])
    assert paired.update("Lead", lead["id"], {"starts": "2026-03-05", "ends": "2026-03-06"})["ends"] == "2026-03-06"
    assert [(r["name"], r["starts"], r["ends"]) for r in paired.query("Lead")] == [("Ann", "2026-03-05", "2026-03-06")]


def test_a_record_stored_before_the_bound_stays_editable_in_its_other_fields(tmp_path: Path):
    unbound, bound = tmp_path / "unbound.xml", tmp_path / "bound.xml"
    unbound.write_text(MODEL.format(attributes=PAIRED.replace(' min="starts"', "")))
    bound.write_text(MODEL.format(attributes=PAIRED))
    database = f"sqlite:///{tmp_path / 'paired.db'}"
    before = StorageManager(model=str(unbound), db=database)
    try:
        lead = before.create("Lead", {"name": "Ann", "starts": "2026-03-10", "ends": "2026-03-01"})
    finally:
        before.stop()
    after = StorageManager(model=str(bound), db=database)
    try:
        assert after.update("Lead", lead["id"], {"name": "Anna", "starts": "2026-03-10"})["name"] == "Anna"
        with pytest.raises(InvalidInput, match="ends: 2026-03-02 is before Starts"):
            after.update("Lead", lead["id"], {"ends": "2026-03-02"})
    finally:
        after.stop()


def test_an_import_names_each_row_beyond_another_field(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    model = tmp_path / "paired.xml"
    model.write_text(MODEL.format(attributes=PAIRED))
    source = tmp_path / "leads.csv"
    source.write_text("name,starts,ends\nAnn,2026-01-01,2026-02-01\nBo,2026-03-01,2026-02-01\n")
    result = CliRunner().invoke(cli, ["data", "import", "Lead", str(source), "--model", str(model)])
    assert result.exit_code != 0
    assert f"{source}:3: ends: 2026-02-01 is before Starts, which is 2026-03-01" in \
        f"{result.output}{result.exception or ''}"
    storage = StorageManager(model=str(model))
    try:
        assert storage.count("Lead") == 0
    finally:
        storage.stop()


def test_a_bound_naming_an_attribute_is_checked_once_the_object_is_complete(tmp_path: Path):
    base, extension = tmp_path / "base.xml", tmp_path / "extension.xml"
    base.write_text(MODEL.format(attributes=PAIRED))
    extension.write_text('<model name="more">\n  <extend object="Lead">\n'
                         '    <attribute name="closes" type="date" min="ends"/>\n  </extend>\n</model>\n')
    assert loader.load([base, extension]).objects["Lead"].attributes["closes"].minimum_field == "ends"
    named = tmp_path / "named.xml"              # an integer bound may name an attribute called inf
    named.write_text(MODEL.format(attributes='<attribute name="inf" type="integer"/>\n'
                                             '    <attribute name="x" type="integer" min="inf"/>'))
    assert loader.load(named).objects["Lead"].attributes["x"].minimum_field == "inf"
    extension.write_text(extension.read_text().replace('min="ends"', 'min="opened"'))
    with pytest.raises(ConfigError) as caught:
        loader.load([base, extension])
    assert str(caught.value) == (f"{extension}:3: Lead.closes: min=\"opened\" is a datetime; a bound is of the "
                                 "attribute's own type (date)")
    extension.write_text('<model name="more">\n  <extend object="Lead">\n'
                         '    <attribute name="ends" min="2026-01-01"/>\n  </extend>\n</model>\n')
    with pytest.raises(ConfigError, match=r"not its min \('starts' to '2026-01-01'\)"):
        loader.load([base, extension])


def test_describe_names_the_attribute_a_bound_is(paired):
    attributes = paired.describe("Lead")["attributes"]
    assert {name: (a["min"], a.get("min_field"), a.get("max_field")) for name, a in attributes.items()
            if a.get("min_field") or a.get("max_field")} == {
        "ends": (None, "starts", None), "respond_by": (None, "opened", None), "high": (None, "low", "cap")}
