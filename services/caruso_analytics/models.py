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


class _JsonFile:
    """A JSON file of the service's, read whole and replaced whole, one caller at a time:
    ``empty()`` when it does not exist yet, ConfigError naming it when it does not hold
    ``what`` (``valid(stored)`` false: ``expected`` says what should be there)."""

    what = ""
    expected = ""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def empty(self) -> Any:
        raise NotImplementedError

    def valid(self, stored: Any) -> bool:
        raise NotImplementedError

    def _load(self) -> Any:
        if not self.path.exists():
            return self.empty()
        try:
            stored = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"{self.path}: not a file of analytics {self.what}: {error}") from None
        if not self.valid(stored):
            raise ConfigError(f"{self.path}: not a file of analytics {self.what}: {self.expected}")
        return stored

    def _replace(self, data: Any) -> None:
        """Write ``data`` as the whole file (aside first, then renamed over it)."""
        aside = self.path.with_name(self.path.name + ".new")
        privatefiles.write_file(aside, json.dumps(data).encode())
        os.replace(aside, self.path)


class ModelStore(_JsonFile):
    what, expected = "models", "a list of models expected"

    def empty(self) -> list[dict[str, Any]]:
        return []

    def valid(self, stored: Any) -> bool:
        return isinstance(stored, list) and all(isinstance(entry, dict) and set(entry) == FIELDS for entry in stored)

    def save(self, model: ChurnModel) -> ChurnModel:
        """Store ``model`` as the next version; it is returned with that version set."""
        with self._lock:
            stored = self._load()
            model.version = (stored[-1]["version"] if stored else 0) + 1
            self._replace((stored + [model.to_dict()])[-KEEP:])
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


class RunStore(_JsonFile):
    """The outcome of the last run of each kind of :data:`RUNS` (as the service answered it)
    with when it ran (``at``, Unix seconds), so that it can be shown again after the call."""

    what, expected = "runs", f"an object of {', '.join(RUNS)} expected"

    def empty(self) -> dict[str, dict[str, Any]]:
        return {}

    def valid(self, stored: Any) -> bool:
        return isinstance(stored, dict) and set(stored) <= set(RUNS) and all(
            isinstance(run, dict) for run in stored.values())

    def record(self, kind: str, outcome: dict[str, Any]) -> dict[str, Any]:
        """Keep ``outcome`` as the last run of ``kind`` (ValueError for another kind); it is
        returned with ``at``, now."""
        if kind not in RUNS:
            raise ValueError(f"no kind of run {kind!r}")
        kept = {**outcome, "at": time.time()}
        with self._lock:
            self._replace({**self._load(), kind: kept})
        return kept

    def last(self) -> dict[str, dict[str, Any] | None]:
        """The last run of each kind, None for a kind that has not run."""
        with self._lock:
            stored = self._load()
        return {kind: stored.get(kind) for kind in RUNS}


def summary(stored: dict[str, Any]) -> dict[str, Any]:
    """What a stored model says of itself: version, training time, horizon, validation cut-off and figures."""
    return {key: stored[key] for key in ("version", "trained_at", "horizon", "cutoff", "validation")}
