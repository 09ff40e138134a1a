"""The churn models trained, with their versions and validation figures, in a JSON file.

Each save gets the next version number; the newest :data:`KEEP` are kept. The file is
replaced whole (written aside, then renamed), 0600, and holds plain numbers only.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from caruso_core import privatefiles
from caruso_core.errors import ConfigError

from caruso_analytics.churn import ChurnModel

KEEP = 20
FIELDS = set(ChurnModel.__dataclass_fields__)


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
            stored = (stored + [model.to_dict()])[-KEEP:]
            aside = self.path.with_name(self.path.name + ".new")
            privatefiles.write_file(aside, json.dumps(stored).encode())
            os.replace(aside, self.path)
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


def summary(stored: dict[str, Any]) -> dict[str, Any]:
    """What a stored model says of itself: version, training time, horizon, validation cut-off and figures."""
    return {key: stored[key] for key in ("version", "trained_at", "horizon", "cutoff", "validation")}
