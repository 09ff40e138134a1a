"""The engine service caruso.scripts/1: persistence, restart and hot-swap mid-dialog (real Pyro5 hosts)."""
import datetime as dt
import json
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from caruso_core.errors import ConfigError, Conflict, InvalidInput, NotFound
from caruso_core.testing import eventually
from caruso_core.testing.processes import free_port
from caruso_scripts.service import ScriptService
from caruso_scripts.store import SESSIONS, SessionStore

SURVEY = """<?xml version="1.0"?>
<script id="survey" version="1" title="Survey">
  <var name="score" value="0"/>
  <question id="happy" type="yesno"><prompt>Are you happy?</prompt>
    <go to="stars" if="happy"><set var="score" value="score + 10"/></go><go to="stars"/></question>
  <question id="stars" type="number" min="1" max="5"><prompt>How many stars?</prompt>
    <go to="comment"><set var="score" value="score + stars"/></go></question>
  <question id="comment" type="text" maxlength="20" required="false"><prompt>A comment?</prompt>
    <go to="done"/></question>
  <end id="done" outcome="rated"><text>Score {score}. {comment}</text></end>
</script>
"""


@pytest.fixture
def survey(script_folder):
    return script_folder(survey=SURVEY)


def test_sessions_survive_a_new_service_instance(survey, tmp_path):
    db = f"sqlite:///{tmp_path / 'sessions.db'}"
    first = ScriptService(scripts=str(survey), db=db)
    assert first.scripts() == [{"id": "survey", "version": "1", "title": "Survey", "description": "", "needs": ()}]
    view = first.begin("survey")
    view = first.answer(view["session"], True, view["seq"])
    first.stop()
    second = ScriptService(scripts=[str(survey)], db=db)
    assert second.current(view["session"])["step"]["id"] == "stars"
    assert second.health() == {"status": "ok", "scripts": 1, "active_sessions": 1, "mail_queued": 0, "mail_failed": 0}
    done = second.answer(view["session"], "4")
    done = second.answer(view["session"], "fine")
    assert done["outcome"] == "rated" and done["step"]["text"] == "Score 14. fine"
    assert second.sessions() == []
    assert [s["outcome"] for s in second.sessions(status=None)] == ["rated"]


CARD = """<?xml version="1.0"?>
<script id="card" version="1" title="Card"><bind name="card" object="Card" key="context.card_id"/>
  <end id="done" outcome="blocked"/></script>
"""


def test_what_a_script_needs_follows_its_sub_scripts_parameters_to_the_context_they_read(script_folder, tmp_path):
    """A sub-script binding a record by a parameter needs what the parameter's value reads of
    the starter's context; a parameter given a value of the script's own needs nothing."""
    def outer(name, param):
        return (f'<?xml version="1.0"?><script id="{name}" version="1" title="{name}">'
                f'<subscript id="block" src="card.xml">{param}<go to="done"/></subscript>'
                f'<end id="done" outcome="done"/></script>')
    folder = script_folder(card=CARD, lost=outer("lost", '<param name="card_id" value="context.first_card"/>'),
                           fixed=outer("fixed", '<param name="card_id" value="17"/>'),
                           texted=outer("texted", '<param name="card_id">{context.customer_id}-1</param>'),
                           passed=outer("passed", ""))
    engine = ScriptService(scripts=str(folder), db=f"sqlite:///{tmp_path / 's.db'}")
    needs = {script["id"]: script["needs"] for script in engine.scripts()}
    assert needs == {"card": ("card_id",), "lost": ("first_card",), "fixed": (), "texted": ("customer_id",),
                     "passed": ("card_id",)}


TODAY = """<?xml version="1.0"?>
<script id="today" version="1" title="Today"><end id="done" outcome="shown"><text>{today()}</text></end></script>
"""


def test_today_is_the_date_in_the_service_s_time_zone(script_folder, tmp_path):
    folder = script_folder(today=TODAY)
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):       # UTC+14 and UTC-11: never the same day
        engine = ScriptService(scripts=str(folder), db=f"sqlite:///{tmp_path / 's.db'}", timezone=zone)
        try:
            assert engine.begin("today")["step"]["text"] == dt.datetime.now(ZoneInfo(zone)).date().isoformat()
        finally:
            engine.stop()
    with pytest.raises(ConfigError, match="^scripts timezone: unknown time zone 'Mars'"):
        ScriptService(scripts=str(folder), db=f"sqlite:///{tmp_path / 's.db'}", timezone="Mars")


def test_errors_callers_see(survey, tmp_path):
    engine = ScriptService(scripts=str(survey), db=f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(NotFound):
        engine.current("0" * 32)
    with pytest.raises(NotFound):
        engine.begin("nope")
    view = engine.begin("survey")
    engine.answer(view["session"], "yes", 0)
    with pytest.raises(InvalidInput, match="at most 5"):
        engine.answer(view["session"], "9", 1)
    with pytest.raises(Conflict):
        engine.answer(view["session"], "no", 0)
    assert engine.answer(view["session"], "yes", 0)["seq"] == 1    # a retry: the same view, nothing applied
    assert engine.back(view["session"])["step"]["id"] == "happy"
    assert engine.finish(view["session"], "hung_up")["status"] == "abandoned"


def test_export_and_import_move_sessions(survey, tmp_path):
    old = ScriptService(scripts=str(survey), db=f"sqlite:///{tmp_path / 'old.db'}")
    new = ScriptService(scripts=str(survey), db=f"sqlite:///{tmp_path / 'new.db'}")
    view = old.begin("survey")
    old.answer(view["session"], "no")
    new.import_state(old.export_state())
    assert new.current(view["session"]) == old.current(view["session"])
    assert new.answer(view["session"], "5")["variables"] == {"score": 5}


def test_duplicate_script_ids_are_a_config_error(survey, tmp_path):
    (survey / "copy.xml").write_text(SURVEY)
    with pytest.raises(ConfigError, match="script id 'survey' is used by"):
        ScriptService(scripts=str(survey), db=f"sqlite:///{tmp_path / 's.db'}")


def test_restart_and_hot_swap_mid_dialog(caruso_host, caruso_client, survey, tmp_path):
    first = caruso_host("scripts", config={"scripts": [str(survey)], "db": f"sqlite:///{tmp_path / 'a.db'}"})
    engine = caruso_client.get("caruso.scripts/1")
    view = engine.begin("survey")
    session = view["session"]
    view = engine.answer(session, "yes", view["seq"])
    first.stop()                                         # the engine restarts on the same database
    caruso_host("scripts", config={"scripts": [str(survey)], "db": f"sqlite:///{tmp_path / 'a.db'}"})
    view = engine.current(session)
    assert view["step"]["id"] == "stars" and view["variables"] == {"score": 10}
    view = engine.answer(session, 3, view["seq"])
    # a new version on another database replaces it: the session moves with export/import
    replacement = caruso_host("scripts", version="1.0.1", replace=True,
                              config={"scripts": [str(survey)], "db": f"sqlite:///{tmp_path / 'b.db'}"})
    view = engine.answer(session, "great", view["seq"])
    assert view["outcome"] == "rated" and view["step"]["text"] == "Score 13. great"
    assert engine.instance["instance_id"] == replacement.instance_id
    with pytest.raises(InvalidInput, match="at most 20 characters"):
        engine.answer(_at_comment(engine), "x" * 21)


def _at_comment(engine):
    view = engine.begin("survey")
    engine.answer(view["session"], "no")
    engine.answer(view["session"], "1")
    return view["session"]


def test_caruso_script_web_serves_published_scripts(caruso_host, caruso_manager, survey, tmp_path):
    caruso_host("scripts", config={"scripts": [str(survey)], "db": f"sqlite:///{tmp_path / 'w.db'}"})
    port = free_port()
    env = {**os.environ, "CARUSO_MANAGER": caruso_manager.uri}
    wrong = subprocess.run([sys.executable, "-m", "caruso_core", "script", "web", "--publish", "nope"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 1 and "publishes no nope (it has: survey)" in wrong.stderr
    server = subprocess.Popen([sys.executable, "-m", "caruso_core", "script", "web", "--publish", "survey",
                               "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def start():
            assert server.poll() is None, "caruso script web ended"
            try:
                return httpx.post(f"http://127.0.0.1:{port}/api/start/survey", timeout=10)
            except httpx.TransportError:
                return None

        started = eventually(start, lambda answer: answer is not None, limit=60, what="caruso script web answering")
        assert started.status_code == 201 and started.json()["step"]["text"] == "Are you happy?"
    finally:
        server.terminate()
        server.wait(30)


NOTES = """<?xml version="1.0"?>
<script id="notes" version="1">
  <var name="count" value="0"/>
  <question id="note" type="text" maxlength="2000"><prompt>Note?</prompt>
    <go to="done" if="count == 34"/>
    <go to="note"><set var="count" value="count + 1"/></go>
  </question>
  <end id="done" outcome="noted"/>
</script>
"""


def test_sessions_on_every_database_however_large(script_folder, database_url):
    folder = script_folder(survey=SURVEY, notes=NOTES)
    first = ScriptService(scripts=str(folder), db=database_url)
    view = first.begin("survey")
    first.answer(view["session"], "yes", view["seq"])
    notes = first.begin("notes")
    for number in range(35):                # with the states kept for going back: a session over 64 KiB
        notes = first.answer(notes["session"], f"{number:04}" * 500, notes["seq"])
    first.stop()
    second = ScriptService(scripts=str(folder), db=database_url)
    try:
        assert second.current(view["session"])["variables"] == {"score": 10}
        assert second.answer(view["session"], 2)["step"]["id"] == "comment"
        assert second.sessions()[0]["session"] == view["session"]
        kept = second.current(notes["session"])
        assert kept["outcome"] == "noted" and kept["answers"]["note"] == "0034" * 500
        assert len(json.dumps(second.store.load(notes["session"]).stored())) > 70_000
    finally:
        second.stop()


@pytest.mark.mariadb
def test_a_sessions_table_made_with_a_text_column_is_widened_on_mariadb(mariadb_database):
    before = sa.MetaData()
    SESSIONS.to_metadata(before).c.state.type = sa.Text()        # as the store made it before: 64 KiB at most
    engine = sa.create_engine(mariadb_database)
    before.create_all(engine)
    store = SessionStore(mariadb_database)
    try:
        store.save_many([{"id": "s1", "script": "notes", "status": "active", "seq": 1, "updated": "2026-03-02",
                          "notes": "n" * 100_000}])
        assert store.all()[0]["notes"] == "n" * 100_000
        with engine.connect() as connection:
            assert connection.exec_driver_sql(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() "
                "AND table_name = 'caruso_script_sessions' AND column_name = 'state'").scalar() == "longtext"
    finally:
        store.close()
        engine.dispose()


def test_old_sessions_are_purged_when_the_engine_starts(survey, tmp_path):
    db = f"sqlite:///{tmp_path / 'old.db'}"
    engine = ScriptService(scripts=str(survey), db=db)
    old, recent = engine.begin("survey"), engine.begin("survey")
    stored = engine.store.load(old["session"])
    stored.updated = "2020-01-01T00:00:00+00:00"
    engine.store.save(stored)
    engine.stop()
    restarted = ScriptService(scripts=str(survey), db=db, keep_days=30)
    restarted.start()
    with pytest.raises(NotFound):
        restarted.current(old["session"])
    assert restarted.current(recent["session"])["status"] == "active"


def test_later_sources_override_scripts_by_id(survey, tmp_path):
    extension = tmp_path / "extension"
    extension.mkdir()
    (extension / "survey.xml").write_text(SURVEY.replace('title="Survey"', 'title="Survey, extended"'))
    engine = ScriptService(scripts=[str(survey), str(extension)], db=f"sqlite:///{tmp_path / 's.db'}")
    assert [s["title"] for s in engine.scripts()] == ["Survey, extended"]
    with pytest.raises(ConfigError, match="does not exist"):
        ScriptService(scripts=[str(tmp_path / "missing")], db=f"sqlite:///{tmp_path / 's.db'}")
    for bad in (-5, 0, "abc", None, float("nan"), float("inf"), True, 10 ** 6):   # -5 would delete every session,
        with pytest.raises(ConfigError, match=r"^scripts keep_days is a number of days above 0 and at most 36500, "
                                              r"not "):                             # 10 ** 6 days before now no date
            ScriptService(scripts=[str(survey)], db=f"sqlite:///{tmp_path / 's.db'}", keep_days=bad)
