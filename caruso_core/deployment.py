"""Deployments: where a solution keeps its data, and (later in this module) its TOML file."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = "data"


def data_dir() -> Path:
    """The deployment's data folder: ``CARUSO_DATA``, else ``./data``; created on demand."""
    path = Path(os.environ.get("CARUSO_DATA") or DEFAULT_DATA_DIR).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_sqlite_url(filename: str) -> str:
    """A SQLite URL for ``filename`` in the data folder, e.g. ``sqlite:////srv/acme/data/crm.db``."""
    return f"sqlite:///{data_dir() / filename}"
