"""Users, customer accounts and sessions of the front office in PostgreSQL."""
import pytest
from starlette.testclient import TestClient

from caruso_core import connect
from caruso_core.errors import Conflict, InvalidInput
from caruso_frontoffice.accounts import Accounts
from caruso_frontoffice.app import create_app
from caruso_frontoffice.context import Context
from caruso_frontoffice.database import open_database
from caruso_frontoffice.sessions import Sessions
from caruso_core.throttle import Throttle
from caruso_frontoffice.views.catalog import load
from frontoffice_support import NO_MANAGER, QUICK_HASHES, VIEWS, sign_in

pytestmark = pytest.mark.postgres


def test_accounts_and_sessions_in_postgresql(postgres_database):
    engine = open_database(postgres_database)
    accounts = Accounts(engine, QUICK_HASHES)
    accounts.add("ada", "agent", "ada-secret-1")
    with pytest.raises(Conflict):
        accounts.add("ADA", "admin", "other-secret-1")
    context = Context(accounts=accounts, sessions=Sessions(engine, b"p" * 32), catalog=load(VIEWS),
                      client=connect(NO_MANAGER, timeout=0.3), name_throttle=Throttle(5, 300),
                      address_throttle=Throttle(20, 300))
    with TestClient(create_app(context), base_url="http://testserver") as web:
        assert sign_in(web, "ada").status_code == 303
        assert "Welcome, ada" in web.get("/").text
        accounts.remove("ada")
        assert web.get("/", follow_redirects=False).headers["location"] == "/signin"
        accounts.add("cora", "customer", "cora-secret-1", "customer_id=7")
        assert sign_in(web, "cora", "cora-secret-1").status_code == 303
        assert web.get("/", follow_redirects=False).headers["location"] == "/portal"
    assert [(one.name, one.customer) for one in accounts.all()] == [("cora", {"customer_id": 7})]
    accounts.remove("cora")
    assert accounts.all() == []
    for name in ("root", "boss"):
        accounts.add(name, "admin", "admin-secret-1")
    accounts.set_role("boss", "supervisor")
    with pytest.raises(InvalidInput, match="root is the last administrator"):
        accounts.remove("root")
    engine.dispose()
