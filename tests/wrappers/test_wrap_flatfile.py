"""The mainframe customer master: EBCDIC fixed-length records, through a real host."""
import os
import time

import pytest

from caruso_core import ConfigError
from caruso_core.testing import contract_suite
from caruso_wrap_flatfile.layout import CUSTOMER_MASTER
from caruso_wrap_flatfile.service import CustomerMaster

CUSTOMERS = [
    {"customer_no": 1001, "name": "De Vries", "street": "Kerkstraat 12", "postcode": "1017 GB",
     "city": "Amsterdam", "phone": "0201234567", "balance": "-12.5", "active": True,
     "customer_since": "1998-03-01"},
    {"customer_no": 1002, "name": "Jansen", "street": "Dorpsweg 3", "postcode": "3511 AA", "city": "Utrecht",
     "phone": "0307654321", "balance": "0", "active": False, "customer_since": None},
    {"customer_no": 1003, "name": "Devos", "street": "Markt 1", "postcode": "9000", "city": "Gent",
     "phone": "", "balance": "1234.56", "active": True, "customer_since": "2015-12-31"},
]


def write_master(path, customers, encoding="cp037"):
    path.write_bytes("".join(CUSTOMER_MASTER.encode(c) for c in customers).encode(encoding))


def as_read(customer):
    """What the master returns: amounts normalised to two decimals."""
    return {**customer, "balance": f"{float(customer['balance']):.2f}"}


@pytest.fixture
def master_file(tmp_path):
    path = tmp_path / "CUSTMAST.DAT"
    write_master(path, CUSTOMERS)
    return path


@pytest.fixture
def known_customer():
    return as_read(CUSTOMERS[0])


class TestMainframeCustomerMaster(contract_suite("caruso.customer-master/1")):
    @pytest.fixture
    def service(self, master_file, caruso_host, caruso_client):
        caruso_host("customer-master", config={"path": str(master_file), "encoding": "cp037",
                                                "record_length": CUSTOMER_MASTER.width})
        return caruso_client.get("caruso.customer-master/1")


def test_decoding_of_every_field_type(master_file):
    master = CustomerMaster(str(master_file), encoding="cp037", record_length=CUSTOMER_MASTER.width)
    master.start()
    assert [master.get(c["customer_no"]) for c in CUSTOMERS] == [as_read(c) for c in CUSTOMERS]
    assert master.get(1003)["balance"] == "1234.56" and master.get(1001)["balance"] == "-12.50"


def test_nightly_rewrite_is_picked_up(master_file):
    master = CustomerMaster(str(master_file), encoding="cp037", record_length=CUSTOMER_MASTER.width)
    master.start()
    assert master.count() == 3
    write_master(master_file, CUSTOMERS[:2])
    os.utime(master_file, (time.time() + 5, time.time() + 5))
    assert master.count() == 2


def test_a_bad_record_names_file_and_record_or_is_skipped_when_asked(tmp_path):
    path = tmp_path / "custmast.txt"
    good = CUSTOMER_MASTER.encode(CUSTOMERS[0])
    bad = "ABCD1234" + good[8:]
    path.write_text(good + "\n" + bad + "\n")
    with pytest.raises(ConfigError, match=r"custmast.txt record 2: customer_no 'ABCD1234' is not a number"):
        CustomerMaster(str(path)).start()
    lenient = CustomerMaster(str(path), strict=False)
    lenient.start()
    assert lenient.count() == 1
    assert lenient.health()["status"] == "degraded" and "record 2" in lenient.health()["rejected"][0]


def test_the_change_file_is_readable_by_owner_and_group_only(master_file, permissive_umask):
    master = CustomerMaster(str(master_file), encoding="cp037", record_length=CUSTOMER_MASTER.width)
    master.start()
    master.change(1001, {"city": "Haarlem"})
    changes = master_file.with_name(master_file.name + ".changes")
    assert changes.stat().st_mode & 0o777 == 0o640
    assert [entry["city"] for entry in master.pending_changes()] == ["Haarlem"]
