"""The IVR runner: prompts as text, options by DTMF digits, numbers and dates keyed with '#'."""
import pytest

from caruso_core.errors import InvalidInput
from caruso_scripts.ivr import IvrRunner
from caruso_scripts.service import ScriptService

MENU = """<?xml version="1.0"?>
<script id="menu" version="1">
  <info id="hello"><text>Welcome to Springfield Power.</text><go to="topic"/></info>
  <question id="topic" type="choice"><prompt>What is your call about?</prompt>
    <option value="bill">Your bill</option><option value="outage">An outage</option><option value="other">Something else</option>
    <go to="agent" if="topic == 'other'"/><go to="amount" if="topic == 'bill'"/><go to="since"/></question>
  <question id="amount" type="amount" min="1"><prompt>Which amount do you want to pay?</prompt><go to="when"/></question>
  <question id="when" type="date"><prompt>On which day?</prompt><go to="sure"/></question>
  <question id="sure" type="yesno"><prompt>Pay {amount} on {when}?</prompt><go to="paid" if="sure"/><go to="topic"/></question>
  <question id="since" type="number" required="false"><prompt>Since how many hours?</prompt><go to="noted"/></question>
  <question id="agent" type="text"><prompt>Please describe it.</prompt><go to="noted"/></question>
  <end id="paid" outcome="payment"><text>Thank you, {amount} will be paid on {when}.</text></end>
  <end id="noted" outcome="noted"><text>Noted ({coalesce(since, 'unknown')} hours).</text></end>
</script>
"""


@pytest.fixture
def ivr(tmp_path):
    (tmp_path / "menu.xml").write_text(MENU)
    return IvrRunner(ScriptService(scripts=str(tmp_path / "menu.xml"), db=f"sqlite:///{tmp_path / 's.db'}"))


def test_a_call_keyed_on_the_phone(ivr):
    turn = ivr.begin("menu")
    assert turn.prompt == ("Welcome to Springfield Power. What is your call about? For Your bill, press 1. "
                           "For An outage, press 2. For Something else, press 3.")
    assert not turn.done
    turn = ivr.press(turn.session, "1")
    assert turn.prompt.startswith("Which amount do you want to pay? Enter the amount, using the star key")
    turn = ivr.press(turn.session, "42*5#")
    assert "Enter the date as year, month and day" in turn.prompt
    turn = ivr.press(turn.session, "20260501#")
    assert turn.prompt == "Pay 42.50 on 2026-05-01? For yes, press 1. For no, press 2."
    turn = ivr.press(turn.session, "1")
    assert turn.done and turn.outcome == "payment"
    assert turn.prompt == "Thank you, 42.50 will be paid on 2026-05-01."
    assert ivr.press(turn.session, "1").done


def test_wrong_keys_back_and_rejections_are_spoken(ivr):
    turn = ivr.begin("menu")
    turn = ivr.press(turn.session, "7")
    assert turn.prompt.startswith("Sorry, that is not one of the options. What is your call about?")
    turn = ivr.press(turn.session, "1")
    turn = ivr.press(turn.session, "0#")
    assert turn.prompt.startswith("Please enter a value of at least 1. Which amount")
    turn = ivr.press(turn.session, "1*2*3#")
    assert turn.prompt.startswith("Sorry, that is not one of the options.")
    turn = ivr.press(turn.session, "*")
    assert turn.prompt.startswith("What is your call about?")
    turn = ivr.press(turn.session, "2")
    turn = ivr.press(turn.session, "#")                     # an optional question skipped
    assert turn.done and turn.prompt == "Noted (unknown hours)."


def test_questions_the_keypad_cannot_answer_go_to_an_agent(ivr):
    turn = ivr.begin("menu")
    turn = ivr.press(turn.session, "3")
    assert turn.done and turn.outcome == "agent_needed"
    assert turn.prompt == "Please hold: one of our agents will help you."


def test_the_service_offers_the_ivr_as_plain_data(tmp_path):
    (tmp_path / "menu.xml").write_text(MENU)
    engine = ScriptService(scripts=str(tmp_path / "menu.xml"), db=f"sqlite:///{tmp_path / 's.db'}")
    turn = engine.ivr_begin("menu")
    assert set(turn) == {"session", "prompt", "done", "outcome", "keys"} and not turn["done"]
    assert turn["keys"] == "one"                                   # a choice: one key answers
    hours = engine.ivr_press(turn["session"], "2")
    assert hours["prompt"].startswith("Since how many hours?") and hours["keys"] == "until_hash"
    with pytest.raises(InvalidInput, match="keys are at most 32"):
        engine.ivr_press(turn["session"], "1" * 33)
