"""Bounded cost: values, shown texts, session data and the work of one answer, through the CLI,
the service (also over Pyro5) and the web runner."""
import json
import subprocess
import sys

import httpx
import pytest

from caruso_core.errors import Conflict
from caruso_scripts.bounds import LIMITS
from caruso_scripts.client import DialogError
from caruso_scripts.service import ScriptService
from caruso_scripts.web import create_app

GROW = """<?xml version="1.0"?>
<script id="grow" version="1" title="Grow">
  <var name="x" value="{initial}"/>
  <var name="n" value="0"/>
  <info id="more"><text>Round {{n}}.</text>
    <go to="more" if="n &lt; {rounds}"><set var="x" value="{grow}"/><set var="n" value="n + 1"/></go>
    <go to="done"/></info>
  <end id="done" outcome="grown"><text>{{len(x)}}</text></end>
</script>
"""
SCRIPT_TEST = 'script = "{script}"\n[[case]]\nname = "grows"\noutcome = "grown"\n'


def script_test(tmp_path, script, name="s.xml"):
    (tmp_path / name).write_text(script)
    spec = tmp_path / "s.test.toml"
    spec.write_text(SCRIPT_TEST.format(script=name))
    return spec


def caruso_script(*args):
    """``caruso script ARGS`` as a process, with a guard against a hang."""
    return subprocess.run([sys.executable, "-m", "caruso_core", "script", *map(str, args)],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("initial, grow, message", [
    ("'ab'", "[x, x]", "a value nests lists and records deeper than 10 levels"),
    ("'ab'", "[[[[x]]]]", "a value nests lists and records deeper than 10 levels"),
    ("'" + "a" * 1000 + "'", "[x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]",
     "a value is larger than 100000 characters"),
    ("'ab'", "x + x", "text is longer than 10000 characters"),
])
def test_script_test_of_a_growing_value_stops_with_the_bound(tmp_path, initial, grow, message):
    spec = script_test(tmp_path, GROW.format(initial=initial, grow=grow, rounds=40))
    done = caruso_script("test", spec)
    assert done.returncode == 1
    assert f"the dialog failed at step 'more': {tmp_path / 's.xml'}:6: '{grow}' failed: {message}" in done.stdout
    assert done.stderr == "error: 1 of 1 script test case(s) failed\n"


def test_sub_scripts_in_a_circle_of_one_answer_stop_at_the_step_bound(tmp_path):
    (tmp_path / "inner.xml").write_text('<?xml version="1.0"?><script id="inner" version="1">'
                                        '<end id="at_once" outcome="ok"/></script>')
    spec = script_test(tmp_path, '<?xml version="1.0"?><script id="outer" version="1">'
                                 '<subscript id="again" src="inner.xml"><go to="again"/></subscript>'
                                 '<end id="never" outcome="grown"/></script>')
    done = caruso_script("test", spec)
    assert done.returncode == 1
    assert (f"the dialog failed: the answer passes more than {LIMITS.steps} steps without waiting for input "
            "(at 'again'") in done.stdout


@pytest.fixture
def engine(tmp_path):
    def make(script):
        (tmp_path / "s.xml").write_text(script)
        return ScriptService(scripts=str(tmp_path / "s.xml"), db=f"sqlite:///{tmp_path / 's.db'}")
    return make


def test_the_work_of_one_answer_is_bounded(engine):
    sum_of_lengths = " + ".join(["len(x)"] * 100)     # 299 parts
    sets = "".join(f'<set var="y" value="{sum_of_lengths}"/>' for _ in range(400))
    service = engine(f'<?xml version="1.0"?><script id="busy" version="1"><var name="x" value="\'a\'"/>'
                     f'<var name="y"/><info id="go"><text>Go</text><go to="done">{sets}</go></info>'
                     f'<end id="done" outcome="busy"><text>{{y}}</text></end></script>')
    view = service.begin("busy")
    with pytest.raises(DialogError, match=f"failed: the answer needs more than {LIMITS.operations} operations"):
        service.answer(view["session"], None, view["seq"])
    assert service.current(view["session"]) == view


def test_the_data_of_a_session_is_bounded_and_the_answer_leaves_it_where_it_was(engine):
    variables = "".join(f'<var name="v{n}"/>' for n in range(12))
    fill = "".join(f'<set var="v{n}" value="t + t + t + t + t"/>' for n in range(12))
    service = engine(f'<?xml version="1.0"?><script id="fill" version="1">{variables}'
                     f'<question id="t" type="text" maxlength="2000"><prompt>?</prompt><go to="done">{fill}</go>'
                     '</question><end id="done" outcome="full"><text>{len(v0)}</text></end></script>')
    view = service.begin("fill")
    with pytest.raises(DialogError, match=r"the dialog's data \(answers, variables, records, context\) is larger "
                                          r"than 100000 characters"):
        service.answer(view["session"], "x" * 2000, view["seq"])
    assert service.current(view["session"]) == view
    done = service.answer(view["session"], "x" * 1000, view["seq"])
    assert done["outcome"] == "full" and done["step"]["text"] == "5000"


def test_going_back_keeps_at_most_the_history_bound_of_earlier_states(engine):
    service = engine('<?xml version="1.0"?><script id="big" version="1"><var name="a"/><var name="b"/>'
                     '<var name="c"/><var name="d"/>'
                     '<question id="t" type="text" maxlength="2000"><prompt>{len(a)}</prompt>'
                     '<go to="t"><set var="a" value="t + t + t + t + t"/><set var="b" value="a"/>'
                     '<set var="c" value="a"/><set var="d" value="a"/></go></question></script>')
    view = service.begin("big")
    for number in range(30):
        view = service.answer(view["session"], str(number % 10) * 2000, view["seq"])
    stored = json.dumps(service.store.load(view["session"]).stored())
    assert len(stored) < 2 * LIMITS.history
    backs = 0
    with pytest.raises(Conflict, match="no earlier step"):
        while True:
            view = service.back(view["session"])
            backs += 1
    assert 5 <= backs < 30


def test_a_deeply_nested_value_is_refused_and_the_session_stays_usable_over_pyro5(caruso_host, caruso_client,
                                                                                   tmp_path):
    (tmp_path / "nest.xml").write_text('<?xml version="1.0"?><script id="nest" version="1"><var name="x" value="0"/>'
                                       '<info id="deeper"><text>More?</text><go to="deeper">'
                                       '<set var="x" value="[x]"/></go></info></script>')
    caruso_host("scripts", config={"scripts": [str(tmp_path / "nest.xml")], "db": f"sqlite:///{tmp_path / 'n.db'}"})
    service = caruso_client.get("caruso.scripts/1")
    view = service.begin("nest")
    for _ in range(LIMITS.nesting):
        view = service.answer(view["session"], None, view["seq"])
    with pytest.raises(DialogError, match="deeper than 10 levels"):
        service.answer(view["session"], None, view["seq"])
    assert service.current(view["session"]) == view
    ended = service.finish(view["session"], "hung_up")
    assert (ended["status"], ended["outcome"]) == ("abandoned", "hung_up")


SHOW = """<?xml version="1.0"?>
<script id="show" version="1" title="Show">
  <var name="x"/>
  <question id="q" type="text" maxlength="2000"><prompt>Something?</prompt>
    <go to="shown"><set var="x" value="q + q + q + q + q"/></go></question>
  <info id="shown"><text>{shown}</text><go to="done"/></info>
  <end id="done" outcome="shown"/>
</script>
"""


def test_a_text_shown_larger_than_the_bound_is_refused_before_the_dialog_moves(tmp_path, serve_app):
    (tmp_path / "show.xml").write_text(SHOW.format(shown="{x}" * 60_000))
    engine = ScriptService(scripts=str(tmp_path / "show.xml"), db=f"sqlite:///{tmp_path / 's.db'}")
    base = serve_app(create_app(engine))
    with httpx.Client(base_url=base, timeout=30) as client:
        view = client.post("/api/start/show").json()
        refused = client.post(f"/api/s/{view['session']}", json={"seq": 0, "answer": "y" * 2000})
        assert refused.status_code == 500 and len(refused.content) < 200
        page = client.get(f"/s/{view['session']}")
        assert page.status_code == 200 and "Something?" in page.text and len(page.content) < 5000
    assert "text of step 'shown' failed: the text is longer than 10000 characters when shown" in \
        _failure(engine, view["session"], "y" * 2000)
    assert engine.current(view["session"])["variables"] == {"x": None}


def _failure(engine, session, answer):
    with pytest.raises(DialogError) as caught:
        engine.answer(session, answer, 0)
    return caught.value.message


def test_a_long_dialog_keeps_its_session_small(script_file, make_engine, recorder):
    engine = make_engine(script_file('<var name="n" value="0"/><question id="more" type="yesno"><prompt>{n}</prompt>'
                                     '<go to="more" if="more"><set var="n" value="n + 1"/><action name="note">'
                                     '<param name="n" value="n"/></action></go><go to="done"/></question>'
                                     '<end id="done" outcome="done"/>'))
    session = engine.start("t")
    for _ in range(1500):
        engine.answer(session, True, session.seq)
    assert len(recorder.calls) == 1500                      # a loop reaches new places: each round runs
    assert (len(session.trail), len(session.history), len(session.actions)) == (1000, 50, 100)
    assert len(session.done) <= 51 and session.actions[-1]["params"] == {"n": 1500}
    assert session.size == 30                               # context, n and more: 10 each
    engine.back(session)
    engine.answer(session, True, session.seq)
    assert len(recorder.calls) == 1500                      # the same place again: not run twice
