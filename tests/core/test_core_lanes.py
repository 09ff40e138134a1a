"""Lanes: one lane's tasks in posting order, lanes side by side on one pool, and a task
posted after another lane's waiting without holding a thread."""
from __future__ import annotations

import concurrent.futures
import threading

import pytest

from caruso_core.errors import Unavailable
from caruso_core.lanes import Lane


@pytest.fixture
def pool():
    pool = concurrent.futures.ThreadPoolExecutor(2)
    yield pool
    pool.shutdown(wait=True)


def test_a_lane_runs_its_tasks_in_order_and_another_lane_meanwhile(pool):
    held, done = threading.Event(), []
    first, second = Lane(pool), Lane(pool)
    first.post(held.wait, 10)
    first.post(done.append, "first, after the wait")
    second.post(done.append, "second").result(10)         # not behind the first lane's wait
    assert done == ["second"]
    held.set()
    first.post(done.append, "first, last").result(10)
    assert done == ["second", "first, after the wait", "first, last"]


def test_a_task_posted_after_another_lane_s_waits_for_it_holding_no_thread(pool):
    """Two threads: one held by the first lane's task; the waiting lane holds none, so a
    third lane still runs; once the first task is done the waiting lane's tasks run in order."""
    held, done = threading.Event(), []
    first, waiting, third = Lane(pool), Lane(pool), Lane(pool)
    blocking = first.post(held.wait, 10)
    after = waiting.post(done.append, "after the first", after=blocking)
    later = waiting.post(done.append, "later in the waiting lane")
    third.post(done.append, "third").result(10)
    assert done == ["third"] and not after.done() and not later.done()
    held.set()
    later.result(10)
    assert done == ["third", "after the first", "later in the waiting lane"]


def test_a_failing_task_fails_its_future_only_and_a_closed_pool_takes_nothing(pool):
    lane = Lane(pool, limit=2)
    with pytest.raises(ZeroDivisionError):
        lane.post(lambda: 1 / 0).result(10)
    assert lane.post(lambda: "next").result(10) == "next"
    started, held = threading.Event(), threading.Event()
    lane.post(lambda: (started.set(), held.wait(10)))
    assert started.wait(10)                               # running: no longer waiting
    lane.post(lambda: None)
    lane.post(lambda: None)
    with pytest.raises(Unavailable, match="more than 2 tasks wait in this lane"):
        lane.post(lambda: None)
    held.set()
    pool.shutdown(wait=True)
    with pytest.raises(Unavailable, match="worker pool is closed"):
        Lane(pool).post(lambda: None)
