"""``caruso new``: package skeletons for a service, a wrapper or a vertical, with tests that pass.

A skeleton is an installable package (``pyproject.toml`` with its entry point) whose
tests run with the caruso test kit. A service is found through ``caruso.services``; a
wrapper also gets the contract suite of its interface (published through
``caruso.contracts``) and a conformance test that runs the suite against the hosted
wrapper. A vertical (``caruso.verticals``) is a manifest, a model built on the CRM base
module, a dialog script with its script test, views and queues, and a test that
validates them in place and serves the model.

The files are the templates in ``caruso_core/templates``. A kind is a stack of template
folders (:data:`KINDS`); a later folder's file replaces an earlier one's at the same
path. A template's path is the written file's with ``.tmpl`` added and ``PACKAGE`` for
the package's name; its text is a :class:`string.Template` over ``name``, ``package``,
``kind``, ``interface``, ``cls`` and ``title``. ``pyproject.part`` is the kind's part of
``pyproject.toml`` (entry points, package data), written where that says
``$pyproject_part``.
"""
from __future__ import annotations

import os
import re
import shutil
import uuid
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Iterator

from caruso_core.errors import ConfigError

KINDS = {"service": ("package", "service"), "wrapper": ("package", "service", "wrapper"),
         "vertical": ("package", "vertical")}
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SUFFIX = ".tmpl"
PYPROJECT_PART = "pyproject.part"


def create(kind: str, name: str, parent: Path) -> Path:
    """Write the skeleton of a ``kind`` named ``name`` into ``parent/name`` whole (nothing is
    left half-written); return that folder."""
    if kind not in KINDS:
        raise ConfigError(f"caruso new makes a {' or a '.join(KINDS)}, not a {kind!r}")
    if not NAME.match(name):
        raise ConfigError(f"{name!r} is not a package name: use lower-case words joined by '-', e.g. acme-stock")
    target = parent / name
    if target.exists():
        raise ConfigError(f"{target} exists already; choose another name or remove it")
    package = name.replace("-", "_")
    words = {"name": name, "package": package, "kind": kind, "interface": f"{name}/1",
             "cls": "".join(part.capitalize() for part in name.split("-")),
             "title": name.replace("-", " ").capitalize()}
    templates = _templates(kind)
    words["pyproject_part"] = Template(templates.pop(PYPROJECT_PART)).substitute(words)
    files = {relative.replace("PACKAGE", package): Template(text).substitute(words)
             for relative, text in templates.items()}
    parent.mkdir(parents=True, exist_ok=True)
    building = parent / f".{name}-{uuid.uuid4().hex[:8]}.tmp"
    building.mkdir()
    try:
        for relative, text in files.items():
            path = building / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.rename(building, target)
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return target


def _templates(kind: str) -> dict[str, str]:
    """The template texts of a kind by the path they are written to (``PACKAGE`` unreplaced)."""
    folder = resources.files("caruso_core").joinpath("templates")
    found: dict[str, str] = {}
    for layer in KINDS[kind]:
        found |= dict(_walk(folder.joinpath(layer), ""))
    return found


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, str]]:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(SUFFIX):
            yield prefix + entry.name.removesuffix(SUFFIX), entry.read_text(encoding="utf-8")
