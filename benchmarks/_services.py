"""Services the benchmarks host (not a benchmark itself)."""
from caruso_core import service


@service(name="counter", interface="bench.counter/1", version="1.0.0")
class Counter:
    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1
        return self.value

    def export_state(self):
        return self.value

    def import_state(self, state):
        self.value = state


class PlainCounter:
    """The same counter as a bare Pyro5 object: no caruso host, no gate."""

    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1
        return self.value


if __name__ == "__main__":
    import Pyro5.api

    from caruso_core import remoting

    daemon = remoting.Daemon()
    print(daemon.register(Pyro5.api.expose(PlainCounter)()), flush=True)
    daemon.requestLoop()
