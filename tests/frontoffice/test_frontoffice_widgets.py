"""Field widgets: chosen by type, and submitted values checked before they reach storage."""
import datetime
import decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

from caruso_core.errors import InvalidInput
from caruso_scripts.client import StepView
from caruso_frontoffice.context import template_environment
from caruso_frontoffice.records import Attribute, in_sentence, object_info
from caruso_frontoffice.views.model import Field
from caruso_frontoffice.widgets import bounds, display, initial, parse, parse_filter, shown, typed, when, widget

CUSTOMER = object_info("Customer", {"key": ["id"], "attributes": {   # shaped like describe("Customer")
    "id": {"type": "integer", "label": "Id", "generated": True},
    "count": {"type": "integer", "label": "Count"},
    "name": {"type": "string", "length": 80, "required": True, "label": "Name"},
    "email": {"type": "string", "length": 120, "label": "E-mail"},
    "phone": {"type": "string", "length": 30, "label": "Phone"},
    "segment": {"type": "string", "choices": ["private", "business"], "label": "Segment"},
    "credit_limit": {"type": "decimal", "label": "Credit limit"},
    "since": {"type": "date", "label": "Customer since"},
    "vip": {"type": "boolean", "label": "VIP"},
    "contacted": {"type": "datetime", "label": "Last contacted"},
    "notes": {"type": "text", "label": "Notes"}}})


def field(name, **options):
    return Field(name=name, **options)


def value(name, raw, **options):
    return parse(field(name, **options), CUSTOMER.attribute(name), raw)


def test_widgets_follow_types_unless_the_view_names_one():
    kinds = {name: widget(field(name), CUSTOMER.attribute(name)) for name in CUSTOMER.attributes}
    assert kinds == {"id": "readonly", "count": "number", "name": "text", "email": "text", "phone": "text", "segment": "select",
                     "credit_limit": "decimal", "since": "date", "vip": "checkbox", "contacted": "datetime",
                     "notes": "textarea"}
    assert widget(field("email", widget="email"), CUSTOMER.attribute("email")) == "email"
    assert widget(field("x"), Attribute("x", "blob", "X")) == "text"


def test_values_are_converted_to_wire_values():
    assert value("count", " 42 ") == 42
    assert value("credit_limit", "1234,50") == "1234.50"
    assert value("since", "2026-03-31") == "2026-03-31"
    assert value("vip", "on") is True and value("vip", None) is False
    assert value("segment", "business") == "business"
    assert value("email", "") is None
    assert value("email", "a@b.example", widget="email") == "a@b.example"


@pytest.mark.parametrize("name, raw, options, message", [
    ("count", "12abc", {}, "Count: a whole number"),
    ("count", "9" * 30, {}, "Count: a whole number"),
    ("credit_limit", "lots", {}, "Credit limit: a number"),
    ("credit_limit", "NaN", {}, "Credit limit: a number"),
    ("since", "31.03.2026", {}, "Customer since: a date"),
    ("segment", "<script>", {}, "Segment: choose one of private, business"),
    ("name", "x" * 81, {}, "Name: at most 80 characters"),
    ("notes", "x" * 501, {"max_length": 500}, "Notes: at most 500 characters"),
    ("notes", "x" * 10_001, {}, "Notes: at most 10000 characters"),
    ("name", "  ", {}, "Name: please fill this in"),
    ("email", "no-at-sign", {"widget": "email"}, "E-mail: an e-mail address"),
    ("phone", "call me", {"widget": "phone"}, "Phone: a phone number"),
    ("name", "a\x00b", {}, "control characters"),
])
def test_bad_values_get_a_message_for_the_person(name, raw, options, message):
    with pytest.raises(InvalidInput, match=message):
        value(name, raw, **options)


def test_filters_take_any_or_a_checked_value():
    assert parse_filter(field("vip"), CUSTOMER.attribute("vip"), "") is None
    assert parse_filter(field("vip"), CUSTOMER.attribute("vip"), "no") is False
    assert parse_filter(field("name", required=True), CUSTOMER.attribute("name"), "") is None
    with pytest.raises(InvalidInput, match="VIP: choose yes or no"):
        parse_filter(field("vip"), CUSTOMER.attribute("vip"), "maybe")
    with pytest.raises(InvalidInput, match="Segment: choose one of"):
        parse_filter(field("segment"), CUSTOMER.attribute("segment"), "vip")


def test_html_is_kept_as_text_for_escaping_by_templates():
    assert value("name", "<b>Acme</b>") == "<b>Acme</b>"
    assert display(True) == "yes" and display(None) == "" and display(3) == "3"


def test_labelled_choices_show_their_labels_and_take_their_codes():
    salutation = object_info("Customer", {"key": ["id"], "attributes": {"salutation": {
        "type": "string", "length": 2, "label": "Salutation", "choices": ["HR", "FR"],
        "choice_labels": {"HR": "Herr", "FR": "Frau"}}}}).attribute("salutation")
    assert salutation.options() == [("HR", "Herr"), ("FR", "Frau")]
    assert [shown(salutation, code) for code in ("FR", "XX", None)] == ["Frau", "XX", ""]
    assert parse(field("salutation"), salutation, "FR") == "FR"
    with pytest.raises(InvalidInput, match="Salutation: choose one of Herr, Frau"):
        parse(field("salutation"), salutation, "Frau")
    assert CUSTOMER.attribute("segment").options() == [("private", "private"), ("business", "business")]


def test_the_percent_widget_shows_a_fraction_as_a_percentage():
    risk = CUSTOMER.attribute("credit_limit")
    assert [shown(risk, stored, "percent") for stored in (0.1234, "0.5", 1, None, "high")] == \
        ["12.3%", "50.0%", "100.0%", "", "high"]
    assert shown(risk, 0.1234) == "0.1234"


def test_datetimes_show_to_the_minute_with_seconds_and_offset_only_when_they_have_them():
    contacted = CUSTOMER.attribute("contacted")
    assert [shown(contacted, stored) for stored in ("2026-12-05T14:26:00", "2026-12-05T14:26:30.250",
                                                    "2026-12-05T14:26:00+02:00", "2026-12-05T14:26:00Z", None,
                                                    "not a time")] == \
        ["2026-12-05 14:26", "2026-12-05 14:26:30", "2026-12-05 14:26 +02:00", "2026-12-05 14:26 +00:00", "",
         "not a time"]
    assert shown(CUSTOMER.attribute("since"), "2026-12-05") == "2026-12-05"


def test_an_input_gets_the_bounds_its_value_is_within_and_today_as_the_date_in_utc():
    score = Attribute("score", "integer", "Score", minimum=0, maximum=100)
    born = Attribute("born", "date", "Born", minimum="1900-01-01", maximum="today")
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert bounds(score, "number") == {}             # a text input: a number input reads 4,5 as 45
    assert bounds(born, "date", "1980-05-01") == {"min": "1900-01-01", "max": today}
    assert bounds(born, "date", "1899-12-31") == {"max": today}
    assert bounds(Attribute("deal", "decimal", "Deal", minimum="0.00"), "decimal") == {}   # a text input
    met = Attribute("met", "datetime", "Met", minimum="2020-01-01T00:00:00")
    assert bounds(met, "date", "2026-03-01T10:00:00") == {"min": "2020-01-01"}


def test_amounts_are_shown_with_their_thousands_grouped_but_exported_and_edited_as_numbers():
    balance = Attribute("balance", "decimal", "Balance")
    assert [shown(balance, value) for value in ("250000.00", "-1234567.5", "0.00", None)] == [
        "250\u202f000.00", "-1\u202f234\u202f567.5", "0.00", ""]
    assert shown(balance, "250000.00", grouped=False) == "250000.00"
    assert display("250000.00") == "250000.00"                     # what a form's input holds
    with pytest.raises(InvalidInput):                               # what a page shows, typed back: refused,
        parse(Field(name="balance"), balance, shown(balance, "250000.00"))   # never read as 250.000


def test_a_date_and_time_shown_with_seconds_takes_any_second():
    opened = Attribute("opened", "datetime", "Opened")
    assert bounds(opened, "datetime", "2026-12-07T00:55:46") == {"step": "any"}
    assert bounds(opened, "datetime", "2026-12-07T00:55:00") == bounds(opened, "datetime", "2026-12-07T00:55") == {}
    assert bounds(opened, "datetime", "") == {}


def test_pages_call_an_object_by_its_label_lower_case_within_a_sentence_but_not_an_acronym():
    assert object_info("FieldServiceOrder", {"label": "Field service order", "key": ["id"]}).called == \
        "Field service order"
    assert object_info("Task", {"key": ["id"]}).called == "Task"                 # no label: its name
    assert object_info("FieldServiceOrder", {"label": "FieldServiceOrder"}).called == "Field service order"   # in words
    assert [in_sentence(text) for text in ("Field service order 45", "IBAN", "E-mail", "x", "")] == \
        ["field service order 45", "IBAN", "e-mail", "x", ""]


@pytest.mark.parametrize("typed, stored", [
    ("1250", "1250"), ("1250.5", "1250.5"), ("1250,50", "1250.50"), ("0,125", None), ("-2,5", "-2.5"),
    (".5", "0.5"), ("12.5000", "12.5000"), ("2,5", "2.5"), ("1250.000", "1250.000"),
])
def test_a_decimal_takes_a_point_or_a_comma_within_its_scale(typed, stored):
    amount = Attribute("amount", "decimal", "Amount", scale=2)
    if stored is None:
        with pytest.raises(InvalidInput, match=r"^Amount: at most 2 decimal places, please \(0,125 has 3\)$"):
            parse(Field(name="amount"), amount, typed)
    else:
        assert parse(Field(name="amount"), amount, typed) == stored


@pytest.mark.parametrize("typed, says", [
    ("1,250", "Amount: 1,250 may mean 1250 or 1.250: write it without the comma, or with more or fewer decimals"),
    ("1.250", "Amount: 1.250 may mean 1250 or 1.250: write it without the point"),
    ("-999,999", "Amount: -999,999 may mean -999999 or -999.999"), ("01,250", "Amount: 01,250 may mean"),
    ("0.1000000000000000000000000000001", r"Amount: at most 2 decimal places, please \(0.1000000000000000000000000000001 has 31\)"),
    ("12.3456", r"Amount: at most 2 decimal places, please \(12.3456 has 4\)"),
    ("1e5", "Amount: a number like 1234.50, please"), ("1,234.50", "Amount: a number like 1234.50, please"),
    ("12 000", "Amount: a number like 1234.50, please"), ("NaN", "Amount: a number like 1234.50, please"),
    ("Infinity", "Amount: a number like 1234.50, please"), ("٣", "Amount: a number like 1234.50, please"),
])
def test_a_number_a_form_cannot_read_without_guessing_is_refused_saying_why(typed, says):
    with pytest.raises(InvalidInput, match=f"^{says}"):
        parse(Field(name="amount"), Attribute("amount", "decimal", "Amount", scale=2), typed)


def test_a_date_and_time_with_a_time_zone_is_refused_rather_than_stored_without_it():
    when = Attribute("at", "datetime", "When")
    assert parse(Field(name="at"), when, "2026-05-04T10:30") == "2026-05-04T10:30:00"
    with pytest.raises(InvalidInput, match=r"^When: 2026-05-04T10:30\+02:00: a date and time without a time zone"):
        parse(Field(name="at"), when, "2026-05-04T10:30+02:00")



def test_a_number_is_put_in_a_form_as_digits_it_reads_back_and_three_places_are_no_guess_beyond_a_scale_of_two():
    rate = Attribute("rate", "float", "Rate")
    tiny = Attribute("tiny", "decimal", "Tiny", scale=8)
    for attribute, stored in ((rate, 1e-05), (rate, 1e16), (tiny, "1E-8"), (tiny, "0E-8"), (rate, 0.125)):
        shown = typed(attribute, stored)
        assert "e" not in shown.lower() and decimal.Decimal(str(parse(Field(name="x"), attribute, shown))) == \
            decimal.Decimal(str(stored))
    assert parse(Field(name="x"), tiny, "1,250") == "1.250" and parse(Field(name="x"), rate, "1.125") == 1.125


@pytest.mark.parametrize("maxlength, at_the_desk, tag", [
    (30, True, "input"), (100, True, "input"), (101, True, "textarea"), (None, True, "textarea"),
    (400, False, "input")])
def test_a_script_s_text_answer_is_a_text_area_at_the_desk_only_when_it_may_be_longer_than_a_line(
        maxlength, at_the_desk, tag):
    fields = template_environment().get_template("dialog_step.html").module.answer_fields
    html = str(fields(StepView("serial", "question", "Which serial number?", "text", True, maxlength=maxlength),
                      long_text=at_the_desk))
    assert f'<{tag} ' in html and {"input": "<textarea", "textarea": '<input type="text"'}[tag] not in html


def test_a_new_forms_moving_default_is_the_day_or_the_minute_it_is_opened_in_utc():
    before = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, second=0, microsecond=0)
    now = datetime.datetime.fromisoformat(initial(Attribute("at", "datetime", "At", default="now")))
    after = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert before <= now <= after and now.second == 0
    today = after.date().isoformat()
    assert initial(Attribute("on", "date", "On", default="today")) == today
    assert initial(Attribute("at", "datetime", "At", default="today")) == f"{today}T00:00"     # its midnight
    assert initial(Attribute("word", "string", "Word", default="now")) == "now"               # a text as it is
    assert initial(Attribute("n", "integer", "N", default=3)) == 3


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_datetimes_are_shown_and_read_in_the_front_office_s_time_zone_and_stored_in_utc():
    contacted = attrs.evolve(CUSTOMER.attribute("contacted"), zone=AMSTERDAM)
    assert shown(contacted, "2026-07-01T12:30:00") == "2026-07-01 14:30"          # summer: UTC+2
    assert shown(contacted, "2026-12-05T14:26:30") == "2026-12-05 15:26:30"       # winter: UTC+1
    assert shown(contacted, "2026-12-05T14:26:00+05:00") == "2026-12-05 14:26 +05:00"   # its own offset kept
    assert typed(contacted, "2026-07-01T12:30:00") == "2026-07-01T14:30"          # the form's input, read back
    assert parse(Field(name="contacted"), contacted, "2026-07-01T14:30") == "2026-07-01T12:30:00"
    assert parse(Field(name="contacted"), contacted, typed(contacted, "2026-12-05T14:26:30")) == "2026-12-05T14:26:30"
    # the night the clocks go back, 02:30 comes twice: the first (still summer time)
    assert parse(Field(name="contacted"), contacted, "2026-10-25T02:30") == "2026-10-25T00:30:00"
    assert [shown(contacted, stored) for stored in ("2026-10-25T00:30:00", "2026-10-25T01:30:00")] == [
        "2026-10-25 02:30 CEST", "2026-10-25 02:30 CET"]                     # pages tell the two apart
    with pytest.raises(InvalidInput) as caught:              # the night they go forward, 02:30 never comes
        parse(Field(name="contacted"), contacted, "2026-03-29T02:30")
    assert str(caught.value) == ("Last contacted: 2026-03-29 02:30: there is no such time in Europe/Amsterdam, "
                                 "the clocks go forward then")
    assert parse_filter(Field(name="contacted"), contacted, "2026-07-01T00:00") == "2026-06-30T22:00:00"


def test_times_of_the_history_and_the_audit_are_shown_in_the_zone_with_its_abbreviation():
    assert when("2026-12-05T14:26:00+00:00", AMSTERDAM) == "2026-12-05 15:26 CET"
    assert when("2026-07-01T12:30:00", AMSTERDAM) == "2026-07-01 14:30 CEST"        # no offset: UTC
    assert when(1782909000.0, AMSTERDAM) == "2026-07-01 14:30 CEST"                  # Unix seconds
    assert when("2026-12-05T14:26:00Z") == "2026-12-05 14:26 UTC"
    assert when("2026-12-05T14:26:07.5", AMSTERDAM, seconds=True) == "2026-12-05 15:26:07 CET"    # the outbox's
    assert when("soon", AMSTERDAM) == "soon"
    assert [when(peer_sent, AMSTERDAM) for peer_sent in (1e20, float("nan"), -1e20)] == ["1e+20", "nan", "-1e+20"]


@pytest.mark.parametrize("zone", [ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")])
def test_today_and_now_of_a_new_form_and_a_date_input_are_those_of_the_zone(zone):
    before = datetime.datetime.now(zone).replace(tzinfo=None, second=0, microsecond=0)
    at = Attribute("at", "datetime", "At", default="now", zone=zone)
    opened = datetime.datetime.fromisoformat(typed(at, initial(at)))            # as the form shows it
    after = datetime.datetime.now(zone).replace(tzinfo=None)
    assert before <= opened <= after
    today = after.date().isoformat()              # Kiritimati (UTC+14) and Pago Pago (UTC-11): never the same day
    assert initial(Attribute("on", "date", "On", default="today", zone=zone)) == today
    midnight = Attribute("at", "datetime", "At", default="today", zone=zone)
    assert typed(midnight, initial(midnight)) == f"{today}T00:00"
    assert bounds(Attribute("born", "date", "Born", maximum="today", zone=zone), "date") == {"max": today}
