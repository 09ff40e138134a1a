"""Bad input gives one clear line and exit status 1, or an empty report; never a traceback."""
from __future__ import annotations

import pytest

from caruso_core.errors import ConfigError
from caruso_reports import definition

from reports_support import caruso


def _fails(*arguments: str) -> str:
    done = caruso("report", *arguments)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def folder(tmp_path):
    return tmp_path


def _write(folder, name: str, text: str) -> str:
    (folder / f"{name}.toml").write_text(text)
    return str(folder)


@pytest.mark.parametrize("text, expected", [
    ('measures = ["ofered"]\n', "unknown measure 'ofered'; known measures: offered,"),
    ('measures = ["offered"]\ndimensions = ["hour"]\n', "unknown dimension 'hour'; known dimensions: period,"),
    ('measures = ["offered"]\nperiod = "year"\n', "unknown period 'year'; periods: 15min, hour, day, week, month"),
    ('measures = []\n', "measures is empty: name at least one"),
    ('title = "x"\n', "'measures' is missing"),
    ('measures = ["offered"]\ncolour = "red"\n', "unknown key 'colour'"),
    ('measures = ["offered"]\n[filters]\nregion = ["north"]\n', "unknown filter 'region'"),
    ('measures = ["offered"]\nfrom = 2026-03-02\nto = 2026-03-01\n', "the date range is empty or inverted"),
    ('measures = ["busy"]\ndimensions = ["queue"]\n', "are by period and agent only, not by queue"),
    ('measures = ["offered"]\nshort_abandon = -5\n', "short_abandon must be a number of seconds >= 0"),
    ('measures = ["offered"]\n[chart]\nmeasures = ["answered"]\n', "chart.measures names 'answered', which is not in measures"),
])
def test_a_bad_definition_names_the_file_and_the_key(folder, simulated_day, text, expected):
    url, _ = simulated_day
    where = _write(folder, "mine", text)
    line = _fails("mine", "--definitions", where, "--db", url)
    assert f"{folder / 'mine.toml'}: " in line and expected in line


def test_a_toml_syntax_error_names_the_file_and_line(folder):
    where = _write(folder, "broken", 'measures = ["offered"]\nperiod = hour\n')
    line = _fails("broken", "--definitions", where)
    assert str(folder / "broken.toml") in line and "line 2" in line


def test_bad_options(simulated_day, tmp_path):
    url, _ = simulated_day
    assert "--to 2026-01-01 is not after --from 2026-02-01" in _fails(
        "incoming-calls", "--db", url, "--from", "2026-02-01", "--to", "2026-01-01")
    assert "'2026-13-01' is not a date" in _fails("incoming-calls", "--db", url, "--from", "2026-13-01")
    assert "no report definition 'outgoing'" in _fails("outgoing", "--db", url)
    assert "--format xls: no such renderer; available: csv, html, pdf, png, png-narrow, spreadsheet, table" in _fails(
        "incoming-calls", "--db", url, "--format", "xls")
    assert "agent times" in _fails("agent-availability", "--db", url, "--queue", "sim")
    assert "--timezone: unknown time zone 'Mars/Base'" in _fails("incoming-calls", "--db", url, "--timezone",
                                                                "Mars/Base", "--from", "2026-01-01")
    assert f"--output {tmp_path}/no/such.csv: cannot write" in _fails(
        "incoming-calls", "--db", url, "--format", "csv", "--output", str(tmp_path / "no" / "such.csv"))
    assert "no such file" in _fails("incoming-calls", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    empty = tmp_path / "empty.db"
    empty.touch()
    assert "no table 'comm_events'" in _fails("incoming-calls", "--db", f"sqlite:///{empty}")
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n" * 100)
    assert _fails("incoming-calls", "--db", f"sqlite:///{notes}").endswith(
        "cannot open the database: DatabaseError: (sqlite3.DatabaseError) file is not a database")


def test_a_range_without_events_is_an_empty_report(simulated_day):
    url, _ = simulated_day
    done = caruso("report", "incoming-calls", "--db", url, "--from", "2001-01-01", "--to", "2001-01-31")
    assert done.returncode == 0 and "no events in this range" in done.stdout
    done = caruso("report", "incoming-calls", "--db", url, "--from", "2001-01-01", "--format", "csv",
                  "--to", "2001-01-01")
    assert done.returncode == 0 and done.stdout.splitlines() == [",".join(f'"{name}"' for name in (
        "period queue offered answered abandoned short_abandoned transferred overflowed service_level "
        "service_level_answered asa aht avg_talk longest_wait").split())]


def test_every_built_in_definition_is_valid():
    names = definition.catalogue(())
    assert set(names) == {"incoming-calls", "agent-availability", "voicemail", "campaign-results", "sales-pipeline",
                          "lead-conversion"}
    for name in names:
        assert definition.load(name, ()).measures


def test_a_definition_is_checked_before_any_database_is_read():
    with pytest.raises(ConfigError, match=r"^x\.toml: unknown measure 'ofered'"):
        definition.from_toml('measures = ["ofered"]', "x", "x.toml")
