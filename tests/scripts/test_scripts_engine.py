"""The engine in process: steps, answers, transitions, actions once, back, sub-scripts, state round trip."""
import datetime
import decimal

import pytest

from caruso_core.errors import Conflict, NotFound
from caruso_scripts import loader
from caruso_scripts.engine import Engine, Session
from caruso_scripts.client import AnswerRejected, DialogError
from caruso_scripts.memory_storage import MemoryStorage

FLOW = """
<bind name="customer" object="Customer" key="context.customer_id"/>
<var name="fee" value="0.00"/>
<var name="long" value="'x'"/>
<info id="hello"><text>Hello {customer.name}, your balance is {customer.balance}.</text><go to="when"/></info>
<question id="when" type="date" min="today()">
  <prompt>When?</prompt>
  <validate rule="weekday(when) &lt;= 5">Please pick a working day.</validate>
  <go to="kind"/>
</question>
<question id="kind" type="choice">
  <prompt>Which kind?</prompt>
  <option value="house">A house</option><option value="flat">A flat</option>
  <go to="amount" if="kind == 'house'"><set var="fee" value="customer.balance / 100 + 1"/>
    <action name="note"><param name="what">house on {when}</param><param name="fee" value="fee"/></action>
    <action name="email"><param name="to" value="customer.email"/></action>
  </go>
  <go to="amount"/>
</question>
<question id="amount" type="amount" min="1" max="customer.balance">
  <prompt>How much?</prompt>
  <go to="grow" if="amount == 99.99"/>
  <go to="note"/>
</question>
<question id="grow" type="yesno"><prompt>Grow?</prompt>
  <go to="grow" if="grow"><set var="long" value="long + long"/></go><go to="note"/></question>
<question id="note" type="text" maxlength="10" required="false">
  <prompt>Anything else?</prompt>
  <go to="done"><action name="store"><param name="object" value="'Note'"/><param name="text" value="note"/></action></go>
</question>
<end id="done" outcome="completed"><text>Fee {fee}.</text></end>
"""


@pytest.fixture
def flow(script_file, make_engine):
    engine = make_engine(script_file(FLOW))
    return engine, engine.start("t", {"customer_id": 1})


def test_a_dialog_from_start_to_end(flow, recorder):
    engine, session = flow
    view = engine.view(session)
    assert view["step"] == {"id": "hello", "kind": "info", "line": 7,
                            "text": "Hello Ann Smith, your balance is 600.00."}
    assert view["status"] == "active" and view["seq"] == 0 and not view["can_go_back"]
    engine.answer(session, None)
    engine.answer(session, "2026-03-03")
    assert engine.view(session)["step"]["options"] == [{"value": "house", "label": "A house"},
                                                      {"value": "flat", "label": "A flat"}]
    engine.answer(session, "A house")
    engine.answer(session, "12.5")
    engine.answer(session, "")
    view = engine.view(session)
    assert view["status"] == "ended" and view["outcome"] == "completed"
    assert view["step"]["text"] == "Fee 7.00."
    assert view["variables"]["fee"] == "7.00"
    assert view["answers"] == {"when": "2026-03-03", "kind": "house", "amount": "12.50", "note": None}
    assert view["trail"] == ["hello", "when", "kind", "amount", "note", "done"]
    assert [(name, params) for name, _, params in recorder.calls] == [
        ("note", {"what": "house on 2026-03-03", "fee": "7.00"}), ("email", {"to": "ann@example.org"}),
        ("store", {"object": "Note", "text": None})]
    assert [a["name"] for a in view["actions"]] == ["note", "email", "store"]
    with pytest.raises(Conflict, match="ended"):
        engine.answer(session, "x")


@pytest.mark.parametrize("answers, message", [
    (["2026-03-01"], "Please enter a value of at least 2026-03-02."),
    (["2026-03-07"], "Please pick a working day."),
    (["tomorrow"], "Please enter a date as YYYY-MM-DD"),
    (["2026-03-03", "castle"], "Please choose one of: A house, A flat."),
    (["2026-03-03", "flat", "0.5"], "Please enter a value of at least 1."),
    (["2026-03-03", "flat", "600.01"], "Please enter a value of at least".replace("at least", "at most")),
    (["2026-03-03", "flat", "1.234"], "at most two decimals"),
    (["2026-03-03", "flat", "10", "x" * 11], "too long (at most 10 characters)"),
    (["2026-03-03", "flat", "10", "x" * 5000], "too long"),
    (["2026-03-03", "flat", "10", 42], "Please answer with text."),
    (["2026-03-03", "flat", ["a"]], "Please enter an amount"),
])
def test_rejected_answers_leave_the_session_unchanged(flow, answers, message):
    engine, session = flow
    engine.answer(session, None)
    for answer in answers[:-1]:
        engine.answer(session, answer)
    before = session.stored()
    with pytest.raises(AnswerRejected) as caught:
        engine.answer(session, answers[-1])
    assert message in caught.value.message
    assert session.stored() == before


def test_a_retried_answer_runs_its_actions_once(flow, recorder):
    engine, session = flow
    engine.answer(session, None, seq=0)
    engine.answer(session, "2026-03-03", seq=1)
    assert engine.answer(session, "house", seq=2) is True
    assert engine.answer(session, "house", seq=2) is False      # the client retried: nothing happens
    assert [name for name, _, _ in recorder.calls] == ["note", "email"]
    with pytest.raises(Conflict, match="moved on"):
        engine.answer(session, "flat", seq=2)                   # a different answer for an old step
    assert session.seq == 3 and session.frame.step == "amount"


def test_a_failing_action_keeps_the_step_and_completed_actions_do_not_run_again(flow, recorder):
    engine, session = flow
    engine.answer(session, None)
    engine.answer(session, "2026-03-03")
    recorder.fail.add("email")
    with pytest.raises(DialogError, match="action 'email' .* failed: RuntimeError: email is down"):
        engine.answer(session, "house", seq=2)
    assert session.frame.step == "kind" and session.seq == 2
    recorder.fail.clear()
    engine.answer(session, "house", seq=2)
    assert [name for name, _, _ in recorder.calls] == ["note", "email"]   # note ran once
    assert session.frame.step == "amount"


def test_back_returns_to_the_previous_question(flow):
    engine, session = flow
    engine.answer(session, None)
    engine.answer(session, "2026-03-03")
    engine.answer(session, "house")
    engine.back(session)
    assert session.frame.step == "kind" and "kind" not in session.frame.answers
    assert engine.view(session)["step"]["given"] == "house"           # shown again, to change or keep
    engine.back(session)
    assert session.frame.step == "when" and engine.view(session)["step"]["given"] == "2026-03-03"
    engine.answer(session, "2026-03-04")
    assert "given" not in engine.view(session)["step"]                # a step reached by answering
    engine.answer(session, "flat")
    assert session.frame.variables["fee"] == decimal.Decimal("0.00")
    assert session.trail == ["hello", "when", "kind", "amount", "kind", "when", "kind", "amount"]
    engine.back(session), engine.back(session), engine.back(session)
    with pytest.raises(Conflict, match="no earlier step"):
        engine.back(session)


def test_bounded_values_stop_a_growing_variable(flow):
    engine, session = flow
    for answer in (None, "2026-03-03", "flat", "99.99"):
        engine.answer(session, answer)
    with pytest.raises(DialogError, match="text is longer than"):
        for _ in range(20):
            engine.answer(session, "yes")
    assert session.frame.step == "grow"


def test_finish_and_unknown_scripts(flow):
    engine, session = flow
    engine.finish(session, "hung_up")
    assert (session.status, session.outcome) == ("abandoned", "hung_up")
    with pytest.raises(NotFound, match="no script 'nope'"):
        engine.start("nope")


def test_missing_business_object_is_a_dialog_error(script_file, make_engine):
    engine = make_engine(script_file(FLOW))
    with pytest.raises(DialogError, match="no Customer 99 for 'customer'"):
        engine.start("t", {"customer_id": 99})
    with pytest.raises(DialogError, match="binding 'customer' has no key"):
        engine.start("t", {})


def test_no_applicable_transition_is_reported_with_the_line(script_file, make_engine):
    engine = make_engine(script_file('<question id="q" type="number"><prompt>?</prompt><go to="e" if="q &gt; 5"/>'
                                     '</question><end id="e" outcome="x"/>'))
    session = engine.start("t")
    with pytest.raises(DialogError, match=r"s.xml:3: no transition of step 'q' applies"):
        engine.answer(session, 3)
    engine.answer(session, 6)
    assert session.outcome == "x"


def test_sub_script_outcome_and_parameters(script_file, make_engine, recorder):
    script_file('<?xml version="1.0"?><script id="inner" version="1">'
                '<question id="pin" type="number"><prompt>PIN for {context.who}?</prompt>'
                '<go to="ok" if="pin == context.expected"><action name="note"><param name="who" value="context.who"/></action></go>'
                '<go to="bad"/></question><end id="ok" outcome="verified"/><end id="bad" outcome="failed"/></script>',
                "inner.xml", whole=True)
    outer = script_file('<subscript id="check" src="inner.xml"><param name="who">Ann</param>'
                        '<param name="expected" value="1234"/>'
                        '<go to="fine" if="check == \'verified\'"/><go to="sorry"/></subscript>'
                        '<end id="fine" outcome="in"/><end id="sorry" outcome="out"/>', "outer.xml")
    engine = make_engine(outer)
    session = engine.start("t")
    assert engine.view(session)["step"]["text"] == "PIN for Ann?"
    engine.answer(session, "1234")
    assert session.outcome == "in" and session.frames[0].answers["check"] == "verified"
    assert session.trail == ["check", "check/pin", "check/ok", "fine"]
    assert recorder.calls[0][2] == {"who": "Ann"}
    session = engine.start("t")
    engine.answer(session, "1")
    assert session.outcome == "out"


def test_sessions_round_trip_through_stored_form(flow):
    engine, session = flow
    for answer in (None, "2026-03-03", "house"):
        engine.answer(session, answer)
    copy = Session.from_stored(session.stored())
    assert copy == session
    assert copy.frame.answers["when"] == datetime.date(2026, 3, 3)
    engine.back(copy)
    assert copy.frame.step == "kind"
    engine.answer(copy, "flat")
    engine.answer(copy, "20")
    engine.answer(copy, None)
    assert copy.outcome == "completed"


def test_sessions_stored_before_the_history_kept_positions_still_run(flow):
    engine, session = flow
    for answer in (None, "2026-03-03", "flat"):
        engine.answer(session, answer)
    earlier = session.stored()
    for name in ("done", "position", "depth", "size"):
        del earlier[name]
    earlier["history"] = [state["frames"] for state in earlier["history"]]
    copy = Session.from_stored(earlier)
    engine.back(copy)
    assert copy.frame.step == "kind"
    engine.answer(copy, "house")
    assert copy.frame.step == "amount" and [a["name"] for a in copy.actions] == ["note", "email"]


def test_the_utility_payment_arrangement_takes_whole_instalments_that_add_up_to_the_cent(examples, recorder):
    """153.31 in three: 51.10 twice, then 51.11 (rounding each lost a cent); 120.06 in twelve: never
    a last one below the others' 10.00 (rounded half up: 10.01, then 9.95); 2.5 is asked again, 6.0
    is six."""
    storage = MemoryStorage({
        "Customer": {"records": [{"id": 3, "name": "Cy", "city": "Shelbyville", "email": "cy@example.org"}]},
        "Invoice": {"types": {"amount": "decimal", "due": "date"}, "records": [
            {"id": 32, "invoice_no": "F-32", "customer_id": 3, "due": "2026-02-14", "amount": "153.31",
             "status": "overdue"}]}})
    script = loader.load(examples / "payment-arrangement.xml")
    engine = Engine({script.id: script}, actions={name: recorder.action(name) for name in ("store", "email", "contact")},
                    service=lambda key: storage, today=lambda: datetime.date(2026, 3, 2))
    session = engine.start("payment_arrangement", {"customer_id": 3})
    for answer in ("Shelbyville", None, "illness"):
        engine.answer(session, answer)
    with pytest.raises(AnswerRejected, match="whole number of instalments"):
        engine.answer(session, decimal.Decimal("2.5"))
    engine.answer(session, 3)
    assert session.frame.variables["plan"] == "51.10 a month, 2 times, then 51.11"
    storage.objects["Invoice"]["records"][32]["amount"] = "120.06"
    for answers, plan in (((12,), "10.00 a month, 11 times, then 10.06"), (("6.0",), "20.01 a month, 6 times")):
        session = engine.start("payment_arrangement", {"customer_id": 3})
        for answer in ("Shelbyville", None, "illness", *answers):
            engine.answer(session, answer)
        assert session.frame.variables["plan"] == plan
