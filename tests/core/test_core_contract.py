import pytest
from Pyro5.serializers import SerpentSerializer

from caruso_core import ConfigError, InvalidInput, NotFound, remote, service
from caruso_core.contract import ServiceSpec, exposed_methods, spec_of
from caruso_core.errors import CarusoError, RemoteError
from sample_services import Counter


def test_decorator_records_identity_and_defaults():
    spec = spec_of(Counter)
    assert (spec.name, spec.interface, spec.version) == ("counter", "test.counter/1", "1.0.0")
    assert spec.requires == () and spec.autostart is False


def test_only_methods_marked_remote_are_exposed_and_overrides_keep_the_mark():
    assert exposed_methods(Counter) == ["fail", "increment", "slow", "tokens"]

    @service(name="counted", interface="test.counted/1")
    class Counted(Counter):
        def increment(self, token=None):            # an override: still remote
            return super().increment(token)

        def helper(self):                          # public, unmarked: not remote
            return 1

    assert exposed_methods(Counted) == ["fail", "increment", "slow", "tokens"]


@pytest.mark.parametrize("name", ["check_config", "stop", "health", "export_state", "_secret"])
def test_a_lifecycle_or_private_method_marked_remote_is_refused_at_once(name):
    def method(self):
        return None

    namespace = {name: remote(method)}
    with pytest.raises(ConfigError, match=f"Clashing.{name} .*cannot be @remote"):
        service(name="clash", interface="test.clash/1")(type("Clashing", (), namespace))


def test_the_host_gives_its_context_to_a_constructor_that_asks_for_it(caruso_manager):
    from caruso_core.context import HostContext, construct

    @service(name="needy", interface="test.needy/1")
    class Needy:
        def __init__(self, colour="red", context=None):
            self.colour, self.context = colour, context

    context = HostContext.standalone("needy")
    made = construct(Needy, {"colour": "blue"}, context)
    assert made.colour == "blue" and made.context is context
    assert construct(Counter, {"label": "x"}, context).label == "x"
    with pytest.raises(ConfigError, match="'context' is not a configuration key"):
        construct(Needy, {"context": "mine"}, context)


def test_a_contexts_proxy_to_a_service_is_made_once_and_follows_the_service(caruso_host, caruso_client):
    from caruso_core.context import HostContext

    context = HostContext.standalone("caller", caruso_client)
    first = caruso_host("sample_services:Counter", config={"label": "first"})
    counter = context.client.service("counter")
    assert counter is context.client.service("counter") and counter is not context.client.service("caruso.other/1")
    assert counter.increment() == {"value": 1, "label": "first"}
    first.stop()
    caruso_host("sample_services:Counter", config={"label": "second"})
    assert counter.increment() == {"value": 1, "label": "second"}     # asked the manager again


@pytest.mark.parametrize("name, interface, message", [
    ("Bad Name", "a.b/1", "service name"),
    ("good", "no-major", "interface"),
    ("good", "a.b/x", "interface"),
])
def test_invalid_identity_is_a_config_error(name, interface, message):
    with pytest.raises(ConfigError, match=message):
        service(name=name, interface=interface)


def test_undecorated_class_is_named_in_the_error():
    class Plain:
        pass

    with pytest.raises(ConfigError, match="Plain is not a caruso service"):
        spec_of(Plain)


def test_requires_must_be_interfaces():
    with pytest.raises(ConfigError, match="requires 'storage'"):
        ServiceSpec("x", "a.x/1", requires=("storage",))


@pytest.mark.parametrize("error", [NotFound("no customer 7", key=7), InvalidInput("bad"), CarusoError("base")])
def test_errors_cross_the_serpent_wire_as_themselves(error):
    serializer = SerpentSerializer()
    back = serializer.loads(serializer.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert back.details == error.details


def test_unknown_remote_error_type_arrives_as_remote_error():
    serializer = SerpentSerializer()
    data = serializer.dumps({"__class__": "caruso.error", "type": "elsewhere.Oops", "message": "m", "details": {}})
    back = serializer.loads(data)
    assert isinstance(back, RemoteError) and str(back) == "m" and back.details["type"] == "elsewhere.Oops"


def test_a_component_error_arrives_as_its_nearest_known_base_class():
    """A client that imported only caruso_core catches a component's own error by its kind."""
    class QuotaExceeded(InvalidInput):
        pass

    serializer = SerpentSerializer()
    sent = serializer.dumps(QuotaExceeded("at most 3 callbacks a day", limit=3))
    del CarusoError.registry[QuotaExceeded.wire_name()]          # as in a client without the component
    back = serializer.loads(sent)
    assert type(back) is InvalidInput and str(back) == "at most 3 callbacks a day"
    assert back.details == {"limit": 3, "type": QuotaExceeded.wire_name()}


def test_bytes_cross_the_wire_as_bytes_both_ways(caruso_host, caruso_client):
    caruso_host("sample_services:Echo")
    echo = caruso_client.get("echo")
    payload = bytes(range(256))
    assert echo.type_of(payload) == "bytes"
    assert echo.echo(payload)["value"] == payload
