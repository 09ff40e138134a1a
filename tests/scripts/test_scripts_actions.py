"""The built-in dialog actions as the plugin registers them, called as the contract of
dialog actions says; ``call`` reaches a hosted service through the manager, the engine's
through the client of its host context."""
import attrs
import pytest

from caruso_core import HostContext, connect, plugins
from caruso_core.errors import CarusoError, InvalidInput
from caruso_scripts.actions import ActionContext
from caruso_scripts.memory_storage import MemoryStorage
from caruso_scripts.service import ScriptService

BOOKING = """<?xml version="1.0"?>
<script id="booking" version="1">
  <question id="account" type="text"><prompt>Account?</prompt>
    <go to="done"><action name="call"><param name="service" value="'ledger'"/><param name="method" value="'book'"/>
      <param name="account" value="account"/><param name="amount" value="'5.00'"/></action></go></question>
  <end id="done" outcome="booked"/>
</script>
"""


def action_context(service):
    """The context of an action run at step ``q`` of script ``test``."""
    return ActionContext(session="s1", script="test", step="q", key="s1:1::3:0", context={}, settings={},
                         service=service)


@pytest.fixture
def actions():
    return plugins.provided("caruso_script_actions")


def test_the_plugin_provides_the_built_in_actions(actions):
    assert {"email", "store", "call", "contact"} <= set(actions)


def test_store_creates_and_updates(actions):
    storage = MemoryStorage({"Customer": {"records": [{"id": 1, "name": "Ann"}]}})
    context = action_context(service=lambda key: storage)
    created = actions["store"](context, object="Task", subject="call back", due="2026-03-03")
    assert created == {"id": 1, "subject": "call back", "due": "2026-03-03"}
    assert actions["store"](context, object="Customer", key=1, name="Ann Smith")["name"] == "Ann Smith"


def test_store_with_match_counts_a_value_stored_again_instead_of_creating_it_twice(actions):
    storage = MemoryStorage({"Article": {"records": [{"id": 7, "question": "Saturday?", "status": "published",
                                                      "asked": 4}]}})
    context = action_context(service=lambda key: storage)

    def ask(question):
        return actions["store"](context, object="Article", match="question", count="asked", question=question,
                                status="unanswered", asked=1)
    assert ask("Heat pumps?") == {"id": 8, "question": "Heat pumps?", "status": "unanswered", "asked": 1}
    assert ask("Heat pumps?")["asked"] == 2
    again = ask("Saturday?")
    assert again == {"id": 7, "question": "Saturday?", "status": "published", "asked": 5}   # only counted
    assert len(storage.query("Article")) == 2
    without_count = actions["store"](context, object="Article", match="question", question="Heat pumps?")
    assert without_count["asked"] == 2                               # found, returned, unchanged
    with pytest.raises(InvalidInput, match="match 'subject' is not one of the attributes given"):
        actions["store"](context, object="Article", match="subject", question="Why?")
    with pytest.raises(InvalidInput, match=r"counts \(count\) only what it matches"):
        actions["store"](context, object="Article", count="asked", question="Why?")
    with pytest.raises(InvalidInput, match="key .* or match .*, not both"):
        actions["store"](context, object="Article", key=7, match="question", question="Why?")


def test_contact_adds_a_history_entry_naming_the_session(actions):
    storage = MemoryStorage({"Customer": {"records": [{"id": 1, "name": "Ann"}]}})
    entry = actions["contact"](action_context(service=lambda key: storage), key=1, summary="moved", channel="web")
    assert entry["reference"] == "script-session:s1" and entry["data"] == {"script": "test", "step": "q"}
    assert storage.contact_history("Customer", 1)[0]["summary"] == "moved"
    actions["contact"](action_context(service=lambda key: storage), key=1, summary="called")
    assert storage.contact_history("Customer", 1, channels=["voice"])[0]["summary"] == "called"   # with the calls
    portal = attrs.evolve(action_context(service=lambda key: storage), context={"channel": "web"})
    actions["contact"](portal, key=1, summary="reported")
    assert storage.contact_history("Customer", 1, channels=["web"])[0]["summary"] == "reported"   # self-service
    assert storage.contact_history("Customer", 1, channels=["web"])[0]["agent"] is None
    desk = attrs.evolve(action_context(service=lambda key: storage), context={"channel": "webchat", "agent": "ben"})
    actions["contact"](desk, key=1, summary="complained")
    assert [(e["channel"], e["agent"]) for e in storage.contact_history("Customer", 1, channels=["webchat"])] == [
        ("webchat", "ben")]                                                      # the agent who ran it


def test_email_refuses_bad_addresses(actions):
    with pytest.raises(InvalidInput, match="is not an e-mail address"):
        actions["email"](action_context(service=None), to="ann@example.org\nBcc: x@y.z", subject="s", body="b")


def test_call_reaches_a_service_through_the_manager(actions, caruso_host, caruso_client):
    caruso_host("scripts_sample_services:Ledger")
    context = action_context(service=caruso_client.get)
    assert actions["call"](context, service="test.ledger/1", method="book", account="4711", amount="25.00",
                           text="moving fee") == {"entry": 1}
    assert caruso_client.get("ledger").booked() == [{"account": "4711", "amount": "25.00", "text": "moving fee"}]
    with pytest.raises(InvalidInput, match="not a public method name"):
        actions["call"](context, service="ledger", method="_secret")
    with pytest.raises(CarusoError, match="an account is needed"):
        actions["call"](context, service="ledger", method="book", account="", amount="1")


def test_the_engine_calls_services_through_its_host_context(caruso_host, caruso_manager, script_folder, tmp_path,
                                                             monkeypatch):
    caruso_host("scripts_sample_services:Ledger")
    monkeypatch.setenv("CARUSO_MANAGER", "PYRO:caruso.manager@127.0.0.1:9")    # nobody listens there
    engine = ScriptService(scripts=str(script_folder(booking=BOOKING)), db=f"sqlite:///{tmp_path / 's.db'}",
                           context=HostContext.standalone("scripts", connect(caruso_manager.uri)))
    view = engine.begin("booking")
    assert engine.answer(view["session"], "4711", view["seq"])["outcome"] == "booked"
    assert connect(caruso_manager.uri).get("ledger").booked() == [{"account": "4711", "amount": "5.00", "text": ""}]
    engine.stop()
