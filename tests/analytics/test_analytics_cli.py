"""caruso analytics: each sub-command asks the running service and says what it did in a
line or a table (or JSON); mistakes are one line and a failing exit."""
from __future__ import annotations

import json

from caruso_core.testing.commands import caruso


def test_the_commands_train_score_segment_and_forecast(solution, tmp_path):
    storage, _, start = solution
    start()
    early = caruso("analytics", "score")
    assert early.returncode == 1 and early.stderr.strip().splitlines() == [
        "error: no churn model yet: train one first (caruso analytics train)"]
    trained = caruso("analytics", "train")
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.startswith("churn model v1: ROC AUC 0.") and "recency alone" in trained.stdout
    scored = caruso("analytics", "score", "--json")
    assert scored.returncode == 0, scored.stderr
    figures = json.loads(scored.stdout)
    assert figures["customers"] == storage.count("Customer", {"field": "churn_risk", "op": "is_null", "value": False})
    segments = caruso("analytics", "segments", "--method", "clusters")
    lines = segments.stdout.splitlines()
    assert segments.returncode == 0 and lines[1].split()[:2] == ["segment", "customers"]
    assert [line.split()[:2] for line in lines[2:]][0] == ["cluster", "1"]
    chart = tmp_path / "forecast.png"
    ahead = caruso("analytics", "forecast", "--months", "2", "--chart", str(chart))
    assert ahead.returncode == 0 and ahead.stdout.splitlines()[-1].startswith("total")
    assert len(ahead.stdout.splitlines()) == 5        # heading, columns, two months, total
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    unwritable = caruso("analytics", "forecast", "--chart", str(tmp_path / "missing" / "f.png"))
    assert unwritable.returncode == 1 and unwritable.stderr.startswith("error: --chart ")
    assert len(unwritable.stderr.strip().splitlines()) == 1
    leads = caruso("analytics", "leads")
    assert leads.returncode == 0 and leads.stdout.startswith("hot from score ")
    listed = caruso("analytics", "models")
    assert listed.stdout == trained.stdout


def test_without_a_service_or_with_a_bad_option_it_says_so_in_one_line(caruso_manager):
    missing = caruso("analytics", "train")
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert "caruso.analytics/1" in missing.stderr
    bad = caruso("analytics", "forecast", "--months", "99")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--months" in bad.stderr
