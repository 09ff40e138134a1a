"""The built-in actions as the plugin registers them; ``call`` reaches a hosted service through the manager."""
import attrs
import pytest

from caruso_core import plugins
from caruso_core.errors import CarusoError, InvalidInput
from caruso_scripts.memory_storage import MemoryStorage


@attrs.frozen
class Context:
    service: object
    session: str = "s1"
    script: str = "test"
    step: str = "q"
    key: str = "s1:1::3:0"
    context: dict = attrs.field(factory=dict)
    settings: dict = attrs.field(factory=dict)


@pytest.fixture
def actions():
    return plugins.provided("caruso_script_actions")


def test_the_plugin_provides_the_built_in_actions(actions):
    assert {"email", "store", "call", "contact"} <= set(actions)


def test_store_creates_and_updates(actions):
    storage = MemoryStorage({"Customer": {"records": [{"id": 1, "name": "Ann"}]}})
    context = Context(service=lambda key: storage)
    created = actions["store"](context, object="Task", subject="call back", due="2026-03-03")
    assert created == {"id": 1, "subject": "call back", "due": "2026-03-03"}
    assert actions["store"](context, object="Customer", key=1, name="Ann Smith")["name"] == "Ann Smith"


def test_contact_adds_a_history_entry_naming_the_session(actions):
    storage = MemoryStorage({"Customer": {"records": [{"id": 1, "name": "Ann"}]}})
    entry = actions["contact"](Context(service=lambda key: storage), key=1, summary="moved", channel="web")
    assert entry["reference"] == "script-session:s1" and entry["data"] == {"script": "test", "step": "q"}
    assert storage.contact_history("Customer", 1)[0]["summary"] == "moved"


def test_email_refuses_bad_addresses(actions):
    with pytest.raises(InvalidInput, match="is not an e-mail address"):
        actions["email"](Context(service=None), to="ann@example.org\nBcc: x@y.z", subject="s", body="b")


def test_call_reaches_a_service_through_the_manager(actions, caruso_host, caruso_client):
    caruso_host("scripts_sample_services:Ledger")
    context = Context(service=caruso_client.get)
    assert actions["call"](context, service="test.ledger/1", method="book", account="4711", amount="25.00",
                           text="moving fee") == {"entry": 1}
    assert caruso_client.get("ledger").booked() == [{"account": "4711", "amount": "25.00", "text": "moving fee"}]
    with pytest.raises(InvalidInput, match="not a public method name"):
        actions["call"](context, service="ledger", method="_secret")
    with pytest.raises(CarusoError, match="an account is needed"):
        actions["call"](context, service="ledger", method="book", account="", amount="1")
