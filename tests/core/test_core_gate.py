import threading

import pytest

from caruso_core.errors import ServiceMoved, SwapFailed
from caruso_core.gate import HOLDING, OPEN, Gate
from caruso_core.testing import eventually


def test_open_gate_runs_calls_and_counts_them():
    gate = Gate()
    seen = []
    assert gate.call(lambda x: x * 2, 21) == 42
    gate.call(lambda: seen.append(gate.in_flight))
    assert seen == [1] and gate.in_flight == 0


def test_refusing_gate_never_runs_the_call():
    gate = Gate()
    gate.refuse()
    ran = []
    with pytest.raises(ServiceMoved):
        gate.call(ran.append, 1)
    assert ran == []


def test_hold_waits_for_in_flight_calls_and_holds_new_ones():
    gate = Gate()
    release = threading.Event()
    started = threading.Event()
    order = []

    def slow():
        started.set()
        release.wait(10)
        order.append("slow done")

    worker = threading.Thread(target=gate.call, args=(slow,))
    worker.start()
    started.wait(10)
    holder = threading.Thread(target=lambda: (gate.hold(10), order.append("held")))
    holder.start()
    eventually(lambda: gate.state == HOLDING)
    late = threading.Thread(target=lambda: gate.call(order.append, "late call"))
    late.start()
    release.set()
    holder.join(10)
    assert order == ["slow done", "held"]
    gate.open()
    late.join(10)
    assert order[-1] == "late call" and gate.state == OPEN


def test_held_calls_are_refused_when_the_instance_moves():
    gate = Gate()
    gate.hold(1)
    outcome = []

    def call():
        try:
            gate.call(outcome.append, "ran")
        except ServiceMoved:
            outcome.append("refused")

    caller = threading.Thread(target=call)
    caller.start()
    eventually(lambda: gate.waiting == 1)
    gate.refuse()
    caller.join(10)
    assert outcome == ["refused"]


def test_hold_times_out_reopens_and_says_so():
    gate = Gate(label="counter")
    release = threading.Event()
    worker = threading.Thread(target=gate.call, args=(release.wait, 10))
    worker.start()
    eventually(lambda: gate.in_flight)
    with pytest.raises(SwapFailed, match="counter still had 1 call"):
        gate.hold(0.2)
    assert gate.state == OPEN
    release.set()
    worker.join(10)
