"""The source mapping: checked when the service is configured, with the mistake named."""
from __future__ import annotations

import numpy as np
import pytest

from caruso_core.errors import ConfigError

from caruso_analytics import source
from analytics_support import SOURCE


def test_the_tests_mapping_and_the_defaults_pass():
    assert source.checked(SOURCE)["events"][2]["kind"] == "complaint"
    default = source.checked(None)
    assert default["customers"]["object"] == "Customer" and default["opportunities"] is None


@pytest.mark.parametrize("mapping, message", [
    ({"customer": {}}, "unknown section 'customer'"),
    ({"customers": {"object": "Customer", "joined": "created", "left": "left", "key": "id", "tenure": "x"}},
     "source.customers: needs exactly the fields"),
    ({"events": [{"kind": "refund", "object": "Refund", "at": "at"}]}, r"events\[0\]: kind 'refund' is none of"),
    ({"events": [{"kind": "contact", "object": "Call"}]}, r"events\[0\]: needs kind, object and at"),
    ({"opportunities": SOURCE["opportunities"]}, "opportunities and stage_changes go together"),
])
def test_mistakes_are_named(mapping, message):
    with pytest.raises(ConfigError, match=message):
        source.checked(mapping)


def test_dates_and_times_become_days_since_1970():
    found = source.days(["1970-01-02", "1970-01-01T12:00:00", None, "2024-01-01T00:00:00+00:00"])
    assert found[:2].tolist() == [1.0, 0.5] and np.isnan(found[2]) and found[3] == 19723.0
