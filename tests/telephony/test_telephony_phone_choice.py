"""Agents' phone choices in the telephony component's database: what ``ring`` rings for
``{"agent": ID}``, shared by two instances on the same database, and bad choices refused."""
from __future__ import annotations

import pytest

from caruso_core.errors import InvalidInput
from caruso_telephony.phonechoice import PhoneChoices
from caruso_telephony.phones import Phones


@pytest.fixture
def phones(tmp_path):
    book = Phones(f"sqlite:///{tmp_path / 'telephony.db'}", "caruso")
    yield book
    book.close()


def test_each_choice_routes_the_agents_ring_target(phones, tmp_path):
    choices = PhoneChoices(phones.engine)
    assert choices.get("ada") == {"agent": "ada", "kind": "sip", "number": None}
    assert choices.route({"agent": "ada"}) == {"agent": "ada"}
    choices.set("ada", "browser")
    assert choices.route({"agent": "ada"}) == {"browser": "ada"}
    choices.set("ada", "number", "+493012345")
    other = Phones(f"sqlite:///{tmp_path / 'telephony.db'}", "caruso")     # a drain swap's successor
    try:
        assert PhoneChoices(other.engine).route({"agent": "ada"}) == {"number": "+493012345"}
    finally:
        other.close()
    choices.set("ada", "sip", "+493012345")                      # a number only goes with kind number
    assert choices.get("ada") == {"agent": "ada", "kind": "sip", "number": None}
    assert choices.route({"number": "+4930"}) == {"number": "+4930"}


@pytest.mark.parametrize("agent, kind, number, message", [
    ("ada", "fax", None, "a phone is one of sip, browser, number"),
    ("ada", "number", None, "an external number is 2 to 20 digits"),
    ("ada", "number", "030 1234", "an external number is 2 to 20 digits"),
    ("ada", "number", "1" * 21, "an external number is 2 to 20 digits"),
    ("", "browser", None, "an agent id is 1 to 64 printable characters"),
    ("a\nb", "browser", None, "an agent id is 1 to 64 printable characters"),
])
def test_bad_choices_are_refused_and_change_nothing(phones, agent, kind, number, message):
    choices = PhoneChoices(phones.engine)
    choices.set("ada", "browser")
    with pytest.raises(InvalidInput, match=message):
        choices.set(agent, kind, number)
    assert choices.get("ada")["kind"] == "browser"
