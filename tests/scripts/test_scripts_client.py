"""The SDK of caruso.scripts/1 (caruso_scripts.client) against a hosted engine: typed views,
errors as the SDK's classes, loaded without the engine."""
import subprocess
import sys

import pytest

from caruso_scripts.client import (INTERFACE, AnswerRejected, DialogError, IvrTurn, Option, Scripts, ScriptInfo,
                                   SessionSummary, StepView)

ORDER = """<?xml version="1.0"?>
<script id="order" version="2" title="Order">
  <description>Order meters.</description>
  <question id="meter" type="choice"><prompt>Which meter?</prompt>
    <option value="smart">Smart meter</option><option value="classic">Classic meter</option>
    <go to="count"/></question>
  <question id="count" type="amount" max="5"><prompt>How many?</prompt>
    <go to="done" if="count &lt; 5"><action name="call"><param name="service" value="'ledger'"/>
      <param name="method" value="'book'"/><param name="account" value="meter"/>
      <param name="amount" value="count"/></action></go></question>
  <end id="done" outcome="ordered"><text>{count} x {meter}.</text></end>
</script>
"""


@pytest.fixture
def order(script_folder):
    return script_folder(order=ORDER)


def test_the_sdk_loads_without_the_engine():
    loaded = subprocess.run([sys.executable, "-c", "import sys, caruso_scripts.client; "
                             "print(sorted(m for m in sys.modules if m.startswith('caruso_scripts')))"],
                            capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['caruso_scripts', 'caruso_scripts.client']"


def test_typed_views_and_errors_of_a_hosted_engine(caruso_host, caruso_client, order, tmp_path):
    caruso_host("scripts_sample_services:Ledger")
    caruso_host("scripts", config={"scripts": [str(order)], "db": f"sqlite:///{tmp_path / 's.db'}"})
    proxy = caruso_client.get(INTERFACE)
    scripts = Scripts(proxy)
    assert scripts.scripts() == [ScriptInfo("order", "2", "Order", "Order meters.")]
    view = scripts.begin("order", {"customer_id": 7})
    assert view.active and view.seq == 0 and not view.can_go_back and view.context == {"customer_id": 7}
    assert view.step == StepView("meter", "question", "Which meter?", "choice", True,
                                 (Option("smart", "Smart meter"), Option("classic", "Classic meter")), line=4)
    assert view.wire() == proxy.current(view.session)
    view = scripts.answer(view.session, "smart", view.seq)
    assert (view.step.id, view.step.decimal, view.answers) == ("count", ".", {"meter": "smart"})
    with pytest.raises(AnswerRejected, match="at most 5"):
        scripts.answer(view.session, "6", view.seq)
    with pytest.raises(DialogError, match="no transition"):
        scripts.answer(view.session, "5", view.seq)
    ended = scripts.answer(view.session, "2", view.seq)
    assert (ended.status, ended.outcome, ended.step.text) == ("ended", "ordered", "2.00 x smart.")
    assert [run["name"] for run in ended.actions] == ["call"]
    assert ended.trail == ["meter", "count", "done"]
    assert caruso_client.get("ledger").booked() == [{"account": "smart", "amount": "2.00", "text": ""}]
    assert scripts.sessions(None) == [SessionSummary(view.session, "order", "ended", "ordered", ended.seq, "done",
                                                     scripts.sessions(None)[0].updated)]
    turn = scripts.ivr_begin("order")
    assert turn == IvrTurn(turn.session, "Which meter? For Smart meter, press 1. For Classic meter, press 2.",
                           False, None, "one")
    assert scripts.finish(turn.session, "hung_up").outcome == "hung_up"

