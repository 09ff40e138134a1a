"""Services the core's tests host in subprocesses."""
import gc
import os
import threading
import time

from caruso_core import ConfigError, InvalidInput, remote, service


@service(name="counter", interface="test.counter/1", version="1.0.0")
class Counter:
    """Counts; remembers every call token it ran, so tests can prove each ran once."""

    def __init__(self, label="v1"):
        self.label = label
        self.value = 0
        self.seen = []
        self.lock = threading.Lock()

    @remote
    def increment(self, token=None):
        with self.lock:
            self.value += 1
            if token is not None:
                self.seen.append(token)
            return {"value": self.value, "label": self.label}

    @remote
    def slow(self, seconds):
        time.sleep(seconds)
        return self.label

    @remote
    def tokens(self):
        with self.lock:
            return list(self.seen)

    @remote
    def fail(self, kind):
        if kind == "caruso":
            raise InvalidInput("kind must be something else")
        if kind == "builtin":
            raise KeyError("missing")
        raise _Private("a library error")

    def export_state(self):
        return {"value": self.value, "seen": self.seen}

    def import_state(self, state):
        self.value = state["value"]
        self.seen = list(state["seen"])


class _Private(Exception):
    pass


@service(name="echo", interface="test.echo/1", version="1.0.0", properties={"ranking": 0})
class Echo:
    def __init__(self, tag="plain"):
        self.tag = tag

    @classmethod
    def check_config(cls, config, folder):
        if config.get("tag") == "retired":
            raise ConfigError(f"tag 'retired' is no longer served (in {folder})")

    @remote
    def echo(self, value):
        return {"tag": self.tag, "value": value}

    @remote
    def type_of(self, value):
        return type(value).__name__


@service(name="relay", interface="test.relay/1", version="1.0.0", requires=("test.counter/1",))
class Relay:
    """Calls the counter through the manager, as a component calls another."""

    def __init__(self):
        from caruso_core import connect

        self.counter = connect().get("test.counter/1")

    @remote
    def bump(self):
        return self.counter.increment()


@service(name="ticker", interface="test.ticker/1", version="1.0.0")
class Ticker:
    """Has background work; writes its lifecycle calls to ``journal`` (one word a line)."""

    def __init__(self, journal, refuse_import=False):
        self.journal = journal
        self.refuse_import = refuse_import
        self.ticks = 0

    def _note(self, word):
        with open(self.journal, "a") as file:
            file.write(word + "\n")

    @remote
    def tick(self):
        self.ticks += 1
        return self.ticks

    def cold_start(self):
        self._note("cold")

    def export_state(self):
        self._note("exported")
        return {"ticks": self.ticks}

    def import_state(self, state):
        if self.refuse_import:
            raise RuntimeError("this ticker takes over from nobody")
        self.ticks = state["ticks"]
        self._note("imported")

    def deactivate(self):
        self._note("deactivated")

    def resume(self):
        self._note("resumed")


@service(name="reluctant", interface="test.reluctant/1", version="1.0.0")
class Reluctant:
    """Fails to cold-start."""

    def cold_start(self):
        raise RuntimeError("no stored work to take up")

    @remote
    def ping(self):
        return "pong"


@service(name="slow", interface="test.slow/1", version="1.0.0")
class SlowStart:
    """Creates ``folder/starting`` when it starts, then starts only once ``folder/go`` exists."""

    def __init__(self, folder):
        self.folder = folder

    def start(self):
        open(f"{self.folder}/starting", "w").close()
        while not os.path.exists(f"{self.folder}/go"):
            time.sleep(0.05)

    @remote
    def ping(self):
        return "pong"


@service(name="facts", interface="test.facts/1", version="1.0.0")
class ProcessFacts:
    """Tells what the process serving it is like."""

    @remote
    def frozen_objects(self):
        return gc.get_freeze_count()
