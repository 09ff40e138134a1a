"""The storage service passes the contract suite of caruso.storage/1, in process and over Pyro5."""
from __future__ import annotations

import pytest

from caruso_core.testing import contract_suite
from caruso_storage.contract import MODEL


class TestInProcess(contract_suite("caruso.storage/1")):
    @pytest.fixture
    def service(self, make_storage):
        return make_storage(MODEL)


class TestOverPyro5(contract_suite("caruso.storage/1")):
    @pytest.fixture
    def service(self, caruso_host, caruso_client):
        caruso_host("storage", config={"model": MODEL})
        return caruso_client.get("caruso.storage/1")
