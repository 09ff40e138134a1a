"""``caruso new``: package skeletons for a service or a wrapper, with tests that pass.

A skeleton is an installable package (``pyproject.toml`` with its ``caruso.services``
entry point) whose tests run with the caruso test kit. A wrapper also gets the
contract suite of its interface (published through ``caruso.contracts``) and a
conformance test that runs the suite against the hosted wrapper.
"""
from __future__ import annotations

import re
from pathlib import Path
from string import Template

from caruso_core.errors import ConfigError

KINDS = ("service", "wrapper")
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$name"
version = "0.1.0"
description = "$title: a caruso $kind"
requires-python = ">=3.11"
dependencies = ["caruso"]

[project.entry-points."caruso.services"]
$name = "$package.service:$cls"
$contracts
[tool.pytest.ini_options]
testpaths = ["tests"]
"""

CONTRACT_ENTRY = """
[project.entry-points."caruso.contracts"]
"$interface" = "$package.contract:${cls}Contract"
"""

SERVICE = '''\
"""$title: a caruso $kind (interface ``$interface``)."""
from caruso_core import NotFound, service


@service(name="$name", interface="$interface", version="0.1.0")
class $cls:
    """Describe here what this $kind offers and, for a wrapper, which system it wraps."""

    def __init__(self, source="$package.dat"):
        self.source = source
        self.items = {}

    def start(self):
        """Connect to or load what the $kind serves (called once, before registration)."""
        self.items = {"example": {"id": "example", "source": self.source}}

    def get(self, item_id):
        """One item by its id."""
        if item_id not in self.items:
            raise NotFound(f"no item {item_id!r} in {self.source}")
        return self.items[item_id]

    def health(self):
        return {"status": "ok" if self.items else "degraded", "items": len(self.items)}
'''

CONTRACT = '''\
"""Contract suite of ``$interface``: what every implementation must do.

Fixtures the conformance module provides: ``service`` (the implementation) and
``known_item`` (the id of an item the implementation holds).
"""
import pytest

from caruso_core import NotFound
from caruso_core.testing import ContractSuite


class ${cls}Contract(ContractSuite):
    interface = "$interface"

    def test_get_a_known_item(self, service, known_item):
        assert service.get(known_item)["id"] == known_item

    def test_unknown_item_is_not_found(self, service):
        with pytest.raises(NotFound):
            service.get("no such item")
'''

SERVICE_TEST = '''\
"""$title over real Pyro5: hosted by the test kit, called through the manager."""
import pytest

from caruso_core import NotFound


@pytest.fixture
def $package(caruso_host, caruso_client):
    caruso_host("$package.service:$cls")
    return caruso_client.get("$interface")


def test_get(${package}):
    assert ${package}.get("example")["id"] == "example"


def test_unknown_item(${package}):
    with pytest.raises(NotFound):
        ${package}.get("missing")
'''

WRAPPER_TEST = '''\
"""$title honours its interface: the contract suite against the hosted wrapper."""
import pytest

from $package.contract import ${cls}Contract


@pytest.fixture
def known_item():
    return "example"


class Test${cls}(${cls}Contract):
    @pytest.fixture
    def service(self, caruso_host, caruso_client):
        caruso_host("$package.service:$cls")
        return caruso_client.get("$interface")
'''

README = """\
# $title

A caruso $kind. Implements `$interface`.

    pip install -e .          # registers the entry point "$name"
    pytest                    # runs its tests with the caruso test kit
    caruso serve $name        # hosts it (or: caruso serve $package.service:$cls)
"""


def create(kind: str, name: str, parent: Path) -> Path:
    """Write the skeleton of a ``kind`` named ``name`` into ``parent/name``; return that folder."""
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
    words["contracts"] = Template(CONTRACT_ENTRY).substitute(words) if kind == "wrapper" else ""
    files = {"pyproject.toml": PYPROJECT, "README.md": README, f"{package}/__init__.py": '"""$title."""\n',
             f"{package}/service.py": SERVICE,
             f"tests/test_{package}.py": WRAPPER_TEST if kind == "wrapper" else SERVICE_TEST}
    if kind == "wrapper":
        files[f"{package}/contract.py"] = CONTRACT
    for relative, template in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template).substitute(words), encoding="utf-8")
    return target
