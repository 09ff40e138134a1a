"""What the analytics service keeps between calls, in JSON files: the churn models trained,
with their versions and validation figures (:class:`ModelStore`), and the outcome of the
last scoring and of the last segmentation by each method (:class:`RunStore`).

Each model saved gets the next version number; the newest :data:`KEEP` are kept. Each file
is replaced whole (written aside, then renamed), 0600, and holds plain data only.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from caruso_core import privatefiles
from caruso_core.errors import ConfigError

from caruso_analytics.churn import ChurnModel

KEEP = 20
FIELDS = set(ChurnModel.__dataclass_fields__)
RUNS = ("score", "rfm", "clusters")      # the kinds of run whose last outcome is kept


class ModelStore:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            stored = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"{self.path}: not a file of analytics models: {error}") from None
        if not isinstance(stored, list) or not all(isinstance(entry, dict) and set(entry) == FIELDS
                                                   for entry in stored):
            raise ConfigError(f"{self.path}: not a file of analytics models: a list of models expected")
        return stored

    def save(self, model: ChurnModel) -> ChurnModel:
        """Store ``model`` as the next version; it is returned with that version set."""
        with self._lock:
            stored = self._load()
            model.version = (stored[-1]["version"] if stored else 0) + 1
            _replace(self.path, (stored + [model.to_dict()])[-KEEP:])
        return model

    def latest(self) -> ChurnModel | None:
        with self._lock:
            stored = self._load()
        return ChurnModel.from_dict(stored[-1]) if stored else None

    def summaries(self) -> list[dict[str, Any]]:
        """Version, training time, horizon, validation cut-off and figures of every kept model."""
        with self._lock:
            stored = self._load()
        return [summary(entry) for entry in stored]


class RunStore:
    """The outcome of the last run of each kind of :data:`RUNS` (as the service answered it)
    with when it ran (``at``, Unix seconds), so that it can be shown again after the call."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            stored = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"{self.path}: not a file of analytics runs: {error}") from None
        if not isinstance(stored, dict) or not set(stored) <= set(RUNS) or not all(
                isinstance(run, dict) for run in stored.values()):
            raise ConfigError(f"{self.path}: not a file of analytics runs: an object of {', '.join(RUNS)} expected")
        return stored

    def record(self, kind: str, outcome: dict[str, Any]) -> dict[str, Any]:
        """Keep ``outcome`` as the last run of ``kind`` (ValueError for another kind); it is
        returned with ``at``, now."""
        if kind not in RUNS:
            raise ValueError(f"no kind of run {kind!r}")
        kept = {**outcome, "at": time.time()}
        with self._lock:
            _replace(self.path, {**self._load(), kind: kept})
        return kept

    def last(self) -> dict[str, dict[str, Any] | None]:
        """The last run of each kind, None for a kind that has not run."""
        with self._lock:
            stored = self._load()
        return {kind: stored.get(kind) for kind in RUNS}


def _replace(path: Path, data: Any) -> None:
    """Write ``data`` as the whole JSON file ``path`` (aside first, then renamed over it)."""
    aside = path.with_name(path.name + ".new")
    privatefiles.write_file(aside, json.dumps(data).encode())
    os.replace(aside, path)


def summary(stored: dict[str, Any]) -> dict[str, Any]:
    """What a stored model says of itself: version, training time, horizon, validation cut-off and figures."""
    return {key: stored[key] for key in ("version", "trained_at", "horizon", "cutoff", "validation")}
