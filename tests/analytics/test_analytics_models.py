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
