"""A service recording the calls it gets, for rule actions calling a service (hosted by tests)."""
from caruso_core import remote, service


@service(name="probe", interface="test.probe/1", version="1.0.0")
class Probe:
    def __init__(self) -> None:
        self.received: list[dict] = []

    @remote
    def record(self, **arguments) -> None:
        self.received.append(arguments)

    @remote
    def calls(self) -> list[dict]:
        return self.received
