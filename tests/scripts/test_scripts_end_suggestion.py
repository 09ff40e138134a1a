"""An end step's suggestion for the agent's wrap-up: ``disposition`` and ``next`` are
loaded, bounded by the schema, and shown in the ended dialog's step."""
import pytest

from caruso_scripts import loader
from caruso_scripts.client import DialogView
from caruso_scripts.errors import ScriptError

SUGGESTING = """<question id="paid" type="yesno"><prompt>Paid?</prompt><go to="thanks" if="paid"/><go to="chase"/></question>
<end id="thanks" outcome="settled"/>
<end id="chase" outcome="promised" disposition="promise to pay" next="Check the payment in 7 days"/>"""


def test_an_end_suggests_a_disposition_and_the_next_action(script_file, make_engine):
    path = script_file(SUGGESTING)
    script = loader.load(path)
    assert (script.step("chase").disposition, script.step("chase").next) == ("promise to pay", "Check the payment in 7 days")
    assert (script.step("thanks").disposition, script.step("thanks").next) == (None, None)
    engine = make_engine(path)
    session = engine.start("t", {})
    engine.answer(session, "no", session.seq)
    ended = DialogView.from_wire(engine.view(session))
    assert (ended.status, ended.outcome) == ("ended", "promised")
    assert (ended.step.disposition, ended.step.next) == ("promise to pay", "Check the payment in 7 days")
    assert DialogView.from_wire(ended.wire()) == ended
    other = engine.start("t", {})
    engine.answer(other, "yes", other.seq)
    wire = engine.view(other)["step"]
    assert wire["outcome"] == "settled" and "disposition" not in wire and "next" not in wire


@pytest.mark.parametrize("attributes", ['disposition=""', f'disposition="{"x" * 41}"', f'next="{"x" * 201}"'])
def test_a_suggestion_out_of_bounds_is_refused_with_its_line(script_file, attributes):
    path = script_file(f'<question id="q" type="yesno"><prompt>Ok?</prompt><go to="done"/></question>\n'
                       f'<end id="done" outcome="ok" {attributes}/>')
    with pytest.raises(ScriptError) as refused:
        loader.load(path)
    assert f"{path}:" in refused.value.message and "end" in refused.value.message
