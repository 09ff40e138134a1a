"""The store of churn models: versions in order, the newest kept, a damaged file named in one line."""
from __future__ import annotations

import os

import pytest

from caruso_core.errors import ConfigError

from caruso_analytics import models
from caruso_analytics.churn import ChurnModel


def _model() -> ChurnModel:
    return ChurnModel(["a"], [0.0], [1.0], [0.5], -1.0, 90.0, 640.0, {"roc_auc": 0.8})


def test_versions_follow_one_another_and_only_the_newest_are_kept(tmp_path):
    store = models.ModelStore(tmp_path / "models.json")
    assert store.latest() is None and store.summaries() == []
    for _ in range(models.KEEP + 2):
        saved = store.save(_model())
    assert saved.version == models.KEEP + 2 and store.latest().to_dict() == saved.to_dict()
    assert [entry["version"] for entry in store.summaries()] == list(range(3, models.KEEP + 3))
    assert os.stat(tmp_path / "models.json").st_mode & 0o777 == 0o600


@pytest.mark.parametrize("text", ["{", "{}", '[{"version": 1}]'])
def test_a_damaged_file_is_one_clear_error(tmp_path, text):
    (tmp_path / "models.json").write_text(text)
    with pytest.raises(ConfigError, match="models.json: not a file of analytics models"):
        models.ModelStore(tmp_path / "models.json").latest()


def test_the_last_run_of_each_kind_is_kept_across_stores_of_the_same_file(tmp_path):
    store = models.RunStore(tmp_path / "runs.json")
    assert store.last() == {"score": None, "rfm": None, "clusters": None}
    kept = store.record("rfm", {"method": "rfm", "customers": 3, "written": 3, "summary": []})
    assert kept["customers"] == 3 and kept["at"] > 0
    store.record("score", {"version": 2, "customers": 3, "at_risk": 1, "written": 0, "threshold": 0.2})
    again = models.RunStore(tmp_path / "runs.json").last()      # a restarted service reads what ran
    assert again["rfm"] == kept and again["score"]["version"] == 2 and again["clusters"] is None
    assert os.stat(tmp_path / "runs.json").st_mode & 0o777 == 0o600
    with pytest.raises(ValueError):
        store.record("deciles", {})


@pytest.mark.parametrize("text", ["{", "[]", '{"deciles": {}}', '{"rfm": 3}'])
def test_a_damaged_file_of_runs_is_one_clear_error(tmp_path, text):
    (tmp_path / "runs.json").write_text(text)
    with pytest.raises(ConfigError, match="runs.json: not a file of analytics runs"):
        models.RunStore(tmp_path / "runs.json").last()
