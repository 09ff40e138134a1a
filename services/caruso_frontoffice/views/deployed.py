"""What a deployment file gives its front office, read from the files it names: the view
sources, the storage's model, the scripts service's script sources, the desk's scripts per queue,
the portal's scripts and its knowledge base. For checking a deployment without running it (relative paths
start at the file's folder, where ``caruso up`` runs)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from caruso_core import deployment
from caruso_core.errors import ConfigError
from caruso_frontoffice.articles import ArticleSettings
from caruso_frontoffice.desksettings import desk_settings
from caruso_frontoffice.views.catalog import DEFAULT_VIEWS, is_resource

FRONTOFFICE, STORAGE, SCRIPTS = "caruso.frontoffice/1", "caruso.storage/1", "caruso.scripts/1"


@attrs.frozen
class Deployed:
    """The front office's part of a deployment; the model is read on demand. ``articles``: the
    portal's knowledge base (None: none), ``articles_given`` whether the deployment names it."""

    views: tuple[str, ...]
    desk_scripts: dict[str, str]
    self_service: tuple[str, ...]
    model_files: tuple[str, ...]
    script_sources: tuple[str, ...]
    articles: ArticleSettings | None = None
    articles_given: bool = False

    def objects(self) -> dict[str, Any]:
        """``describe()["objects"]`` of the storage's model (the packaged one without files)."""
        from caruso_storage.describe import describe_files
        return describe_files(self.model_files)["objects"]


def read(path: Path) -> Deployed:
    """The front office's part of the deployment file at ``path``; ConfigError when it has
    no front office."""
    entries = {entry.spec.interface: entry for entry in deployment.load(str(path)).services}
    if FRONTOFFICE not in entries:
        raise ConfigError(f"{path}: the deployment has no front office")
    folder = path.resolve().parent
    config = entries[FRONTOFFICE].config
    storage = entries[STORAGE].config if STORAGE in entries else {}
    scripts = entries[SCRIPTS].config if SCRIPTS in entries else {}
    return Deployed(views=tuple(_placed(config.get("views") or [DEFAULT_VIEWS], folder, resources=True)),
                    desk_scripts=desk_settings(config.get("desk")).scripts,
                    self_service=tuple(config.get("self_service") or ()),
                    model_files=tuple(_placed(storage.get("model") or [], folder)),
                    script_sources=tuple(_placed(scripts.get("scripts") or [], folder)),
                    articles=ArticleSettings.of(config.get("articles")), articles_given="articles" in config)


def _placed(sources: str | list[str], folder: Path, resources: bool = False) -> list[str]:
    """``sources`` with relative file paths made absolute from ``folder`` (``package:path``
    resources of view sources stay as they are)."""
    placed = []
    for source in [sources] if isinstance(sources, str) else sources:
        if resources and is_resource(str(source)):
            placed.append(str(source))
        else:
            placed.append(str(folder / source))
    return placed
