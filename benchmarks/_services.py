"""Services the benchmarks host (not a benchmark itself)."""
from caruso_core import remote, service


@service(name="counter", interface="bench.counter/1", version="1.0.0")
class Counter:
    def __init__(self):
        self.value = 0

    @remote
    def increment(self):
        self.value += 1
        return self.value

    def export_state(self):
        return self.value

    def import_state(self, state):
        self.value = state



if __name__ == "__main__":
    import Pyro5.api

    from caruso_core import remoting

    daemon = remoting.Daemon()
    print(daemon.register(Pyro5.api.expose(Counter)()), flush=True)  # bare Pyro5: no host, no gate
    daemon.requestLoop()
