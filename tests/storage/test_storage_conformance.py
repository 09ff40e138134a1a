"""The storage service passes the contract suite of caruso.storage/1, in process and over Pyro5."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from caruso_core import connect
from caruso_core.testing import contract_suite
from caruso_core.testing.processes import HostProcess, ManagerProcess, child_environment
from caruso_core.contract import exposed_methods
from caruso_storage.contract import METHODS, MODEL
from caruso_storage.service import StorageManager


class TestInProcess(contract_suite("caruso.storage/1")):
    @pytest.fixture
    def service(self, make_storage):
        return make_storage(MODEL)


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One storage service over Pyro5 for every test of the suite (they only look at their own objects)."""
    work = tmp_path_factory.mktemp("hosted")
    env = child_environment([str(Path(__file__).parent)], work / "data", None)
    manager = ManagerProcess(work, 10.0, env)
    env["CARUSO_MANAGER"] = manager.uri
    host = HostProcess("storage", manager, env, None, config={"model": MODEL})
    try:
        yield connect(manager.uri, secret=manager.secret).get("caruso.storage/1")
    finally:
        host.stop()
        manager.stop()


class TestOverPyro5(contract_suite("caruso.storage/1")):
    @pytest.fixture
    def service(self, hosted):
        return hosted


def test_the_suite_calls_every_method_the_service_exposes():
    assert sorted(exposed_methods(StorageManager)) == sorted(METHODS)
