"""apply(..., results="count"): a bulk load that needs nothing back."""
import json

import pytest

from caruso_core import InvalidInput
from caruso_storage.service import StorageManager


def test_count_results_write_everything_and_return_the_number(tmp_path):
    storage = StorageManager(db=f"sqlite:///{tmp_path / 's.db'}")
    operations = [{"op": "create", "object": "Customer", "values": {"name": f"C{n}"}} for n in range(250)]
    assert storage.apply(json.dumps(operations), results="count") == 250
    assert storage.count("Customer") == 250
    with pytest.raises(InvalidInput, match="records, keys, count"):
        storage.apply(operations, results="everything")
