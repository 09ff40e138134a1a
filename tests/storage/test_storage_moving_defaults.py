"""Moving defaults and bounds: ``default="now"`` (a datetime) and ``default="today"`` (a date
or datetime) are the moment (UTC) or the day (in the storage's time zone) a record is created; a value given is kept, and
``describe()`` gives the word. ``max="now"`` refuses a datetime in the future (``today``
compares its day). A model giving them to another type is refused with its line."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from caruso_core.errors import ConfigError, InvalidInput
from caruso_storage import loader
from caruso_storage.service import StorageManager

MODEL = """<model name="moving">
  <object name="Ticket" table="ticket">
    <attribute name="id" type="integer" key="true" generated="true"/>
    {attributes}
  </object>
</model>
"""
MOVING = """<attribute name="opened" type="datetime" required="true" default="now"/>
    <attribute name="day" type="date" default="today" max="today"/>
    <attribute name="shift" type="datetime" default="today"/>
    <attribute name="word" type="string" length="10" default="now"/>
    <attribute name="happened" type="datetime" max="now"/>"""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@pytest.fixture
def storage(tmp_path: Path):
    model = tmp_path / "moving.xml"
    model.write_text(MODEL.format(attributes=MOVING))
    built = StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'moving.db'}")
    yield built
    built.stop()


def test_a_create_without_the_value_takes_the_moment_and_the_day_it_is_created(storage):
    before = utc_now().replace(microsecond=0)
    first = storage.create("Ticket", {})
    after = utc_now()
    opened = dt.datetime.fromisoformat(first["opened"])
    assert before <= opened <= after and opened.microsecond == 0
    assert first["day"] == after.date().isoformat()
    assert first["shift"] == f"{after.date().isoformat()}T00:00:00"       # a datetime's today: its midnight
    assert first["word"] == "now"                                        # a string's default is its text
    second = storage.create("Ticket", {})
    assert dt.datetime.fromisoformat(second["opened"]) >= opened         # each create its own moment
    assert storage.get("Ticket", first["id"])["opened"] == first["opened"]


def test_a_value_given_is_kept_and_a_required_one_given_empty_is_refused(storage):
    kept = storage.create("Ticket", {"opened": "2026-05-04T10:30:00", "day": "2026-05-04", "shift": None})
    assert (kept["opened"], kept["day"], kept["shift"]) == ("2026-05-04T10:30:00", "2026-05-04", None)
    with pytest.raises(InvalidInput, match="opened"):
        storage.create("Ticket", {"opened": None})
    [made] = storage.apply([{"op": "create", "object": "Ticket", "values": {"day": "2026-01-02"}}])
    assert made["opened"] is not None and made["day"] == "2026-01-02"


def test_describe_gives_the_word(storage):
    described = storage.describe("Ticket")["attributes"]
    assert [described[name]["default"] for name in ("opened", "day", "shift", "word")] == [
        "now", "today", "today", "now"]
    assert (described["happened"]["min"], described["happened"]["max"]) == (None, "now")


def test_a_datetime_bounded_by_now_refuses_the_future_and_takes_the_past_and_this_moment(storage):
    later = (utc_now() + dt.timedelta(minutes=5)).replace(second=0, microsecond=0)
    with pytest.raises(InvalidInput) as caught:
        storage.create("Ticket", {"happened": later.isoformat()})
    assert str(caught.value) == f"happened: {later.isoformat(sep=' ', timespec='minutes')} is after now, the latest allowed"
    earlier = (utc_now() - dt.timedelta(seconds=2)).replace(microsecond=0).isoformat()
    assert storage.create("Ticket", {"happened": earlier})["happened"] == earlier
    just = utc_now().isoformat()                       # this very second, with its microseconds
    assert storage.create("Ticket", {"happened": just})["happened"] == just
    made = storage.create("Ticket", {})
    with pytest.raises(InvalidInput, match="is after now"):
        storage.update("Ticket", made["id"], {"happened": later.isoformat()}, made["_version"])


def test_a_moving_default_beyond_a_fixed_bound_is_refused_as_a_value_given_would_be(tmp_path: Path):
    model = tmp_path / "bounded.xml"
    model.write_text(MODEL.format(attributes='<attribute name="day" type="date" default="today" max="2020-12-31"/>'))
    bounded = StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'bounded.db'}")
    try:
        with pytest.raises(InvalidInput) as caught:
            bounded.create("Ticket", {})
        assert str(caught.value) == (f"day: {utc_now().date().isoformat()} is after 2020-12-31, "
                                     "the latest allowed")
        assert bounded.create("Ticket", {"day": "2020-12-31"})["day"] == "2020-12-31"
    finally:
        bounded.stop()


@pytest.mark.parametrize("attribute, message", [
    ('<attribute name="x" type="date" default="now"/>', 'Lead.x: default="now" applies to a datetime, not to date'),
    ('<attribute name="x" type="time" default="today"/>',
     'Lead.x: default="today" applies to a date or datetime, not to time'),
    ('<attribute name="x" type="integer" default="now"/>', 'Lead.x: default="now" applies to a datetime, not to integer'),
    ('<attribute name="x" type="date" max="now"/>', 'Lead.x: max="now" applies to a datetime, not to date'),
    ('<attribute name="x" type="time" min="now"/>', 'Lead.x: min="now" applies to a datetime, not to time'),
])
def test_a_moving_default_of_another_type_is_refused_with_its_line(tmp_path: Path, attribute, message):
    model = tmp_path / "bad.xml"
    model.write_text(MODEL.replace("Ticket", "Lead").format(attributes=attribute))
    with pytest.raises(ConfigError) as caught:
        loader.load(model)
    assert str(caught.value) == f"{model}:4: {message}"


# Kiritimati is UTC+14, Pago Pago UTC-11: 25 hours apart, their dates always differ
EAST, WEST = ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")
RULED = MOVING + """
    <attribute name="follow_up" type="date"/>
    <attribute name="call_back" type="datetime"/>
    <rule name="follow_up_tomorrow" on="create"><action use="set">
      <set field="follow_up">${today+1}</set><set field="call_back">${today+1}</set>
    </action></rule>"""


def zoned(tmp_path: Path, zone: str) -> StorageManager:
    model = tmp_path / f"{zone.replace('/', '-')}.xml"
    model.write_text(MODEL.format(attributes=RULED))
    return StorageManager(model=str(model), db=f"sqlite:///{tmp_path / model.stem}.db", timezone=zone)


def test_today_is_the_day_in_the_storage_s_time_zone_and_datetimes_stay_in_utc(tmp_path: Path):
    east, west = zoned(tmp_path, "Pacific/Kiritimati"), zoned(tmp_path, "Pacific/Pago_Pago")
    try:
        before = utc_now().replace(microsecond=0)
        made_east, made_west = east.create("Ticket", {}), west.create("Ticket", {})
        east_day, west_day = dt.datetime.now(EAST).date(), dt.datetime.now(WEST).date()
        assert (made_east["day"], made_west["day"]) == (east_day.isoformat(), west_day.isoformat())
        assert made_east["follow_up"] == (east_day + dt.timedelta(days=1)).isoformat()       # a rule's ${today+1}
        midnight = dt.datetime.combine(east_day, dt.time(), EAST).astimezone(dt.timezone.utc).replace(tzinfo=None)
        assert made_east["shift"] == midnight.isoformat()              # that day's midnight there, in UTC
        assert made_east["call_back"] == (midnight + dt.timedelta(days=1)).isoformat()   # so is a rule's day
        assert before <= dt.datetime.fromisoformat(made_east["opened"]) <= utc_now()     # a moment: UTC
        assert east.create("Ticket", {"day": east_day.isoformat()})["day"] == east_day.isoformat()
        with pytest.raises(InvalidInput, match=f"day: {east_day} is after today, the latest allowed"):
            west.create("Ticket", {"day": east_day.isoformat()})       # not yet that day in Pago Pago
    finally:
        east.stop()
        west.stop()


@pytest.mark.parametrize("zone", ["Europe/Amsterdm", "../../etc/passwd", "", 42, "x" * 300])
def test_an_unknown_time_zone_is_refused_before_anything_is_opened(tmp_path: Path, zone):
    with pytest.raises(ConfigError, match=r"^storage timezone: unknown time zone .*; use an IANA name"):
        StorageManager(db=f"sqlite:///{tmp_path / 'never.db'}", timezone=zone)
    assert not (tmp_path / "never.db").exists()


def test_a_refusal_quotes_a_time_in_the_storage_s_zone_and_the_ends_of_the_calendar_are_refused_too(tmp_path: Path):
    model = tmp_path / "quoted.xml"
    model.write_text(MODEL.format(attributes='<attribute name="at" type="datetime" max="2026-01-01T00:00:00"/>'
                                             '<attribute name="seen" type="datetime" max="today"/>'))
    quoted = StorageManager(model=str(model), db=f"sqlite:///{tmp_path / 'q.db'}", timezone="Europe/Amsterdam")
    east = zoned(tmp_path, "Pacific/Kiritimati")
    try:
        with pytest.raises(InvalidInput) as caught:
            quoted.create("Ticket", {"at": "2026-06-01T10:00:00"})                 # stored in UTC
        assert str(caught.value) == "at: 2026-06-01 12:00 CEST is after 2026-01-01 01:00 CET, the latest allowed"
        with pytest.raises(InvalidInput, match=r"^seen: 9999-12-31 23:00 UTC is after today"):
            quoted.create("Ticket", {"seen": "9999-12-31T23:00:00"})              # beyond the calendar there
        with pytest.raises(InvalidInput, match=r"^day: 9999-12-31 is after today"):
            east.create("Ticket", {"day": "9999-12-31"})
    finally:
        quoted.stop()
        east.stop()
