"""The script engine passes the contract suite of caruso.scripts/1, in process and over Pyro5."""
import pytest

from caruso_core import connect
from caruso_core.testing import contract_suite
from caruso_core.testing.processes import HostProcess, ManagerProcess, child_environment
from caruso_scripts.contract import SCRIPT
from caruso_scripts.service import ScriptService


class TestInProcess(contract_suite("caruso.scripts/1")):
    @pytest.fixture
    def service(self, tmp_path):
        return ScriptService(scripts=[SCRIPT], db=f"sqlite:///{tmp_path / 'contract.db'}")


class TestOverPyro5(contract_suite("caruso.scripts/1")):
    @pytest.fixture(scope="class")
    @classmethod
    def service(cls, tmp_path_factory):
        """One manager and one hosted engine for the whole suite (the tests use separate sessions)."""
        work = tmp_path_factory.mktemp("contract")
        env = child_environment([], work / "data", None)
        manager = ManagerProcess(work, 3.0, env)
        host = HostProcess("scripts", manager, {**env, "CARUSO_MANAGER": manager.uri}, None,
                           config={"scripts": [SCRIPT], "db": f"sqlite:///{work / 'contract.db'}"})
        try:
            yield connect(manager.uri, secret=manager.secret).get("caruso.scripts/1")
        finally:
            host.stop()
            manager.stop()
