"""The legacy billing wrapper over a database nobody designed, through two real hosts:
a storage instance mapping it (configuration only) and the wrapper on top."""
import sqlite3

import pytest

from caruso_core.testing import contract_suite
from caruso_wrap_billing.service import MODEL

LEGACY_DDL = """
CREATE TABLE "DEBITEUREN" ("DEB_NR" INTEGER PRIMARY KEY, "NAAM" CHAR(30), "SALDO_CT" INTEGER,
                           "ACTIEF" CHAR(1), "INCASSO?" CHAR(1));
CREATE TABLE "OPENSTAANDE POSTEN" ("DEB_NR" INTEGER, "VOLGNR" INTEGER, "FACTUUR" CHAR(10),
                                   "BEDRAG_CT" INTEGER, "VERVALDATUM" DATE, "BETAALD" CHAR(1),
                                   PRIMARY KEY ("DEB_NR", "VOLGNR"));
CREATE TABLE "BETAALREGELINGEN" ("REGELING_NR" INTEGER PRIMARY KEY AUTOINCREMENT, "DEB_NR" INTEGER,
                                 "TERMIJNEN" INTEGER, "TOTAAL_CT" INTEGER, "EERSTE_TERMIJN" DATE);
INSERT INTO "DEBITEUREN" VALUES (4711, 'De Vries                      ', -15075, 'J', 'N');
INSERT INTO "DEBITEUREN" VALUES (4712, 'Jansen                        ', 0, 'J', 'J');
INSERT INTO "OPENSTAANDE POSTEN" VALUES (4711, 1, 'F2026-0101', 10050, '2026-09-14', 'N');
INSERT INTO "OPENSTAANDE POSTEN" VALUES (4711, 2, 'F2026-0077', 5025, '2026-08-14', 'N');
INSERT INTO "OPENSTAANDE POSTEN" VALUES (4711, 3, 'F2026-0031', 9999, '2026-07-14', 'J');
INSERT INTO "OPENSTAANDE POSTEN" VALUES (4712, 1, 'F2026-0050', 4200, '2026-07-14', 'J');
"""


@pytest.fixture
def legacy_db(tmp_path):
    path = tmp_path / "billing.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(LEGACY_DDL)
    return path


@pytest.fixture
def indebted_customer():
    return 4711


@pytest.fixture
def settled_customer():
    return 4712


@pytest.fixture
def billing(legacy_db, caruso_host, caruso_client):
    caruso_host("storage", name="legacy-billing", properties={"ranking": -10},
                config={"model": MODEL, "databases": {"billing": f"sqlite:///{legacy_db}"}})
    caruso_host("billing")
    return caruso_client.get("caruso.billing/1")


class TestLegacyBilling(contract_suite("caruso.billing/1")):
    @pytest.fixture
    def service(self, billing):
        return billing


def test_values_are_converted_both_ways(billing, legacy_db):
    account = billing.account(4711)
    assert (account["name"], account["balance"], account["active"], account["direct_debit"]) == \
        ("De Vries", "-150.75", True, False)
    assert billing.open_items(4711) == [{"invoice": "F2026-0077", "amount": "50.25", "due": "2026-08-14"},
                                        {"invoice": "F2026-0101", "amount": "100.50", "due": "2026-09-14"}]
    made = billing.arrange(4711, 2, "2099-01-31")
    with sqlite3.connect(legacy_db) as connection:
        row = connection.execute('SELECT "DEB_NR", "TERMIJNEN", "TOTAAL_CT", "EERSTE_TERMIJN" '
                                 'FROM "BETAALREGELINGEN" WHERE "REGELING_NR" = ?', (made["arrangement_no"],)).fetchone()
    assert row == (4711, 2, 15075, "2099-01-31")


def test_the_legacy_database_is_left_alone(billing, legacy_db):
    billing.arrange(4711, 2, "2099-01-31")
    with sqlite3.connect(legacy_db) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    assert tables == {"DEBITEUREN", "OPENSTAANDE POSTEN", "BETAALREGELINGEN", "sqlite_sequence"}
    assert journal == "delete"


def test_the_wrapper_finds_its_storage_through_its_hosts_context(legacy_db, caruso_host, caruso_client, monkeypatch):
    monkeypatch.setenv("CARUSO_MANAGER", "PYRO:caruso.manager@127.0.0.1:9")   # nobody: only the host leads there
    caruso_host("storage", name="legacy-billing",
                config={"model": MODEL, "databases": {"billing": f"sqlite:///{legacy_db}"}})
    caruso_host("billing")
    assert caruso_client.get("caruso.billing/1").account(4712)["name"] == "Jansen"
