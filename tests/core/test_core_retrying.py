"""Background work retried with growing pauses (caruso_core.retrying): the settings, and a
worker that wakes when told, survives a failing pass and stops without waiting out a pause."""
import logging
import time

import attrs
import pytest

from caruso_core.errors import ConfigError
from caruso_core.retrying import Retries, Worker, positive
from caruso_core.testing.waiting import eventually


class Counting(Worker):
    def __init__(self, pause, fail_first=False):
        super().__init__("test-worker", logging.getLogger("test.retrying"), "counting", poll=0.05)
        self.pause, self.fail_first, self.passes = pause, fail_first, 0

    def work(self):
        self.passes += 1
        if self.fail_first and self.passes == 1:
            raise RuntimeError("first pass breaks")
        return self.pause


def test_settings_of_a_table_double_the_pause_up_to_a_bound_and_name_bad_values():
    @attrs.frozen
    class Mine(Retries):
        attempts: int = attrs.field(default=3, validator=positive)
        give_up_days: float = attrs.field(default=1.0, validator=positive)

    assert Mine.of({"backoff": 1, "backoff_max": 5}, "mail").delay(4) == 5
    assert [Mine().delay(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0] and Mine().attempts == 3
    with pytest.raises(ConfigError, match=r"mail: unknown setting\(s\) tries \(settings: .*give_up_days"):
        Mine.of({"tries": 1}, "mail")
    with pytest.raises(ConfigError, match="mail.give_up_days must be a number above 0 .got -1."):
        Mine.of({"give_up_days": -1}, "mail")
    with pytest.raises(ConfigError, match="outbox.backoff must be a number above 0"):
        Mine.of({"backoff": True})


def test_a_worker_wakes_when_told_and_stops_without_waiting_out_its_pause():
    worker = Counting(pause=3600)
    worker.start()
    try:
        eventually(lambda: worker.passes == 1)
        worker.wake()
        eventually(lambda: worker.passes == 2, what="a pass after wake()")
    finally:
        started = time.monotonic()
        worker.stop()
    assert time.monotonic() - started < 2
    worker.start()                                  # started again after a stop
    eventually(lambda: worker.passes == 3)
    worker.stop()


def test_a_failing_pass_is_logged_and_the_next_comes_after_the_poll(caplog):
    worker = Counting(pause=3600, fail_first=True)
    worker.start()
    try:
        eventually(lambda: worker.passes == 2, what="the pass after the failed one")
    finally:
        worker.stop()
    assert "counting failed" in caplog.text and "first pass breaks" in caplog.text


def test_pruning_is_due_at_first_and_then_once_a_period():
    worker = Counting(pause=1)
    assert worker.prune_due() and not worker.prune_due()
