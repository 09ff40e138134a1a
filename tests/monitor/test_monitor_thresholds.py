"""The wallboard's colour thresholds: levels per figure, defaults from the queue's target,
configuration errors that name the queue and the figure."""
import pytest

from caruso_core.errors import ConfigError
from caruso_monitor.thresholds import Thresholds


def queue(name="sales", waiting=0, longest_wait=0.0, service_level=None, sl_target=20.0):
    return {"queue": name, "waiting": waiting, "longest_wait": longest_wait, "service_level": service_level,
            "sl_target": sl_target}


def test_defaults_follow_the_queues_own_target():
    thresholds = Thresholds()
    assert thresholds.levels(queue()) == {"waiting": "ok", "longest_wait": "ok", "service_level": "ok"}
    assert thresholds.levels(queue(waiting=3, longest_wait=20.0, service_level=0.8)) == {
        "waiting": "warn", "longest_wait": "warn", "service_level": "warn"}
    assert thresholds.levels(queue(waiting=10, longest_wait=40.0, service_level=0.6)) == {
        "waiting": "alert", "longest_wait": "alert", "service_level": "alert"}
    assert thresholds.levels(queue(longest_wait=40.0, sl_target=60.0))["longest_wait"] == "ok"


def test_a_queue_takes_its_own_bounds_then_those_of_every_queue():
    thresholds = Thresholds({"*": {"waiting": [5, 6]}, "outages": {"waiting": [1, 2], "service_level": [0.95, 0.9]}})
    assert thresholds.levels(queue("outages", waiting=1))["waiting"] == "warn"
    assert thresholds.levels(queue("sales", waiting=4))["waiting"] == "ok"
    assert thresholds.levels(queue("sales", waiting=6))["waiting"] == "alert"
    assert thresholds.levels(queue("outages", service_level=0.92))["service_level"] == "warn"
    assert thresholds.levels(queue("sales", service_level=0.92))["service_level"] == "ok"


@pytest.mark.parametrize("configured, message", [
    ({"sales": {"speed": [1, 2]}}, r"thresholds.sales.speed: no such figure"),
    ({"sales": {"waiting": [3]}}, r"thresholds.sales.waiting: give \[warn, alert\]"),
    ({"sales": {"waiting": ["3", 4]}}, r"thresholds.sales.waiting: give \[warn, alert\]"),
    ({"sales": {"waiting": [5, 2]}}, r"thresholds.sales.waiting: warn comes before alert"),
    ({"sales": {"service_level": [0.6, 0.8]}}, r"thresholds.sales.service_level: .* 1 >= warn >= alert"),
    ({"sales": [1, 2]}, r"thresholds.sales: a table of figures"),
])
def test_bad_thresholds_are_one_line_naming_queue_and_figure(configured, message):
    with pytest.raises(ConfigError, match=message):
        Thresholds(configured)
