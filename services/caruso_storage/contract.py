"""Contract tests of the interface ``caruso.storage/1``."""
from __future__ import annotations

from caruso_core.testing import ContractSuite


class StorageContract(ContractSuite):
    interface = "caruso.storage/1"
