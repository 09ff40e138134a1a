"""A queue's dispositions (checked when the queue is defined, kept with its record) and the
seconds left of an agent's wrap-up, as the agent desk shows them."""
from __future__ import annotations

import json
import re

import pytest

from caruso_core.errors import ConfigError
from caruso_comm.model import MAX_DISPOSITIONS, Queue, queue_from_dict
from caruso_comm.records import queue_definition


def test_a_queue_lists_its_dispositions_and_its_record_keeps_them():
    queue = queue_from_dict({"name": "billing", "dispositions": [" paid ", "promise to pay"]})
    assert queue.dispositions == ("paid", "promise to pay")
    assert queue_from_dict({"name": "sales"}).dispositions == ()
    stored = {"name": "billing", "strategy": "longest_idle", "channel": "voice", "skills": "{}",
              "escalation": "[]", "dispositions": json.dumps(list(queue.dispositions))}
    assert queue_from_dict(queue_definition(stored)) == queue
    assert queue_from_dict(queue_definition(dict(stored, dispositions=None))).dispositions == ()


@pytest.mark.parametrize("dispositions, problem", [
    ("paid", "a list of at most"),
    ([f"d{n}" for n in range(MAX_DISPOSITIONS + 1)], "a list of at most"),
    (["paid", ""], "distinct names of 1 to 40"),
    (["x" * 41], "distinct names of 1 to 40"),
    (["paid", "paid "], "distinct names"),
    (["paid", 3], "distinct names"),
])
def test_dispositions_that_are_not_a_short_list_of_names_are_refused_in_one_line(dispositions, problem):
    with pytest.raises(ConfigError) as refused:
        queue_from_dict({"name": "billing", "dispositions": dispositions})
    assert "queue definition 'billing'" in str(refused.value) and problem in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_agent_says_how_long_each_wrap_up_has_left(desk):
    desk.acd.add_queue(Queue("q", wrap_up=30))
    desk.acd.login("a")
    call = desk.acd.arrive("q").id
    desk.acd.accept("a", call)
    assert desk.acd.wrap_up_left("a") == {}
    desk.acd.complete("a", call, "sale")
    desk.advance(12)
    assert desk.acd.wrap_up_left("a") == {call: 18}
    desk.advance(18)
    assert desk.acd.wrap_up_left("a") == {}
    again = desk.acd.arrive("q").id
    desk.acd.accept("a", again)
    desk.acd.complete("a", again)
    desk.acd.end_wrap_up("a", again)
    assert desk.acd.wrap_up_left("a") == {}


@pytest.mark.parametrize("definition, problem", [
    ({"name": ""}, "name is 1 to 64 characters"),
    ({"name": "x" * 5000}, "name is 1 to 64 characters"),
    ({"name": " sales"}, "spaces at its ends"),
    ({"name": "sa\nles"}, "control characters"),
    ({"name": 7}, "name is 1 to 64"),
    ({"name": "sales", "sl_target": -5}, "sl_target is a number of seconds 0 or more, not -5"),
    ({"name": "sales", "offer_timeout": float("nan")}, "offer_timeout is a number of seconds above 0, not nan"),
    ({"name": "sales", "offer_timeout": 0}, "offer_timeout is a number of seconds above 0"),
    ({"name": "sales", "max_wait": float("inf")}, "max_wait is a number of seconds 0 or more, not inf"),
    ({"name": "sales", "wrap_up": "30"}, "wrap_up is a number of seconds"),
])
def test_attack_a_queue_with_a_bad_name_or_time_is_refused_in_one_line(definition, problem):
    with pytest.raises(ConfigError, match="^queue definition .*" + re.escape(problem)) as refused:
        queue_from_dict(definition)
    assert "\n" not in str(refused.value)
