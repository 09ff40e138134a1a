"""How reports are written for people: the definition's labels, one way of writing
percentages and durations in every renderer and on the wire, and a range without events
said in one line without a chart's axes."""
from __future__ import annotations

import io

import attrs
import pytest
from matplotlib import image

from caruso_core.errors import ConfigError
from caruso_reports.definition import from_toml
from caruso_reports.renderers import charts, html, spreadsheet, text
from caruso_reports.renderers.cells import duration
from caruso_reports.report import Report

DEFINITION = """
title = "Calls"
measures = ["offered", "service_level", "asa", "talk_time"]
dimensions = ["queue"]
[labels]
queue = "Queue"
service_level = "Service level"
"""


def report(rows) -> Report:
    definition = from_toml(DEFINITION, "calls", "calls.toml")
    return Report(name="calls", title="Calls", dimensions=definition.dimensions, measures=definition.measures,
                  rows=tuple(rows), labels=definition.labels)


def test_labels_come_from_the_definition_and_figures_are_written_one_way():
    calls = report([{"queue": "sales", "offered": 6, "service_level": 0.8333, "asa": 65.4, "talk_time": 3725.0},
                    {"queue": "empty", "offered": 0, "service_level": None, "asa": None, "talk_time": 0.0}])
    wire = calls.to_dict()
    assert wire["headings"] == ["Queue", "Offered", "Service level", "Asa (m:ss)", "Talk time (m:ss)"]
    assert wire["shown"] == [["sales", "6", "83.3%", "1:05", "62:05"], ["empty", "0", "-", "-", "0:00"]]   # m:ss
    assert Report.from_dict(wire) == calls and not wire["empty"]
    terminal = text.table(calls).decode()
    assert "83.3%" in terminal and "62:05" in terminal and "Service level" in terminal
    hours = attrs.evolve(calls, labels={**calls.labels, "talk_time": "Talk time (h:mm:ss)"})
    assert [row[4] for row in hours.to_dict()["shown"]] == ["1:02:05", "0:00:00"]      # as its label says
    assert duration(489, hours=True) == "0:08:09" and duration(489) == "8:09"
    page = html.page(calls).decode()
    assert "<td class=\"n\">83.3%</td>" in page and "<th>Asa (m:ss)</th>" in page and "<img" in page


def test_csv_for_programs_and_for_spreadsheets_computes_no_formula_a_value_brings():
    """A dimension's value may come from a customer's record (``customer.ATTRIBUTE``)."""
    calls = report([{"queue": '=HYPERLINK("http://evil.example","x")', "offered": 2, "service_level": 0.5,
                     "asa": 3.0, "talk_time": 60.0},
                    {"queue": "-12.50", "offered": 1, "service_level": None, "asa": None, "talk_time": 0.0}])
    programs = spreadsheet.csv(calls).decode().splitlines()     # every cell quoted: ";" splits none
    assert programs[0] == '"queue","offered","service_level","asa","talk_time"'
    assert programs[1] == '"\'=HYPERLINK(""http://evil.example"",""x"")","2","0.5","3.0","60.0"'
    assert programs[2] == '"-12.50","1","","","0.0"'                # one signed number stays a number
    people = spreadsheet.spreadsheet(calls)                         # as shown, under the labels
    assert people.startswith(b"\xef\xbb\xbf") and people[3:].decode().splitlines() == [
        '"Queue","Offered","Service level","Asa (m:ss)","Talk time (m:ss)"',
        '"\'=HYPERLINK(""http://evil.example"",""x"")","2","50.0%","0:03","1:00"',
        '"-12.50","1","-","-","0:00"']


def test_a_range_without_events_says_so_without_axes():
    quiet = report([{"queue": "sales", "offered": 0, "service_level": None, "asa": None, "talk_time": 0.0}])
    assert quiet.to_dict()["empty"]
    assert text.table(quiet).decode().splitlines()[-1] == "no events in this range"
    page = html.page(quiet).decode()
    assert "No events in this range." in page and "<img" not in page and "<table" not in page
    height, width, _ = image.imread(io.BytesIO(charts.png(quiet))).shape
    assert (width, height) == (1100, 120)            # one line of text, not a panel of empty axes


@pytest.mark.parametrize("labels, message", [
    ('nickname = "x"', "calls.toml: labels.nickname names no measure or dimension"),
    ('asa = ""', "calls.toml: labels.asa must be text of 1 to 60 characters"),
    ("asa = 3", "calls.toml: labels.asa must be text of 1 to 60 characters")])
def test_a_bad_label_is_one_line_naming_the_file(labels, message):
    with pytest.raises(ConfigError) as refused:
        from_toml(DEFINITION.replace('queue = "Queue"', labels), "calls", "calls.toml")
    assert str(refused.value) == message


def test_a_phone_gets_a_chart_drawn_400_pixels_wide():
    calls = report([{"queue": "sales", "offered": 6, "service_level": 0.8333, "asa": 65.4, "talk_time": 3725.0}])
    wide = image.imread(io.BytesIO(charts.png(calls))).shape
    narrow = image.imread(io.BytesIO(charts.png_narrow(calls))).shape
    assert (wide[1], narrow[1]) == (1100, 400) and narrow[0] == wide[0]
