"""The manager's bookkeeping, in-process (the Pyro5 side is in test_core_integration.py)."""
import time

import pytest

from caruso_core import credentials
from caruso_core.errors import NotAuthorized, NotFound
from caruso_core.manager import ServiceManager
from caruso_core.registry import RegistryStore


def spec(name="storage", interface="caruso.storage/1", **properties):
    return {"name": name, "interface": interface, "version": "1.0.0", "properties": properties}


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'manager.db'}"


@pytest.fixture
def manager(db):
    manager = ServiceManager(RegistryStore(db), lease=30)
    yield manager
    manager.close()


def register(manager, uri, **kwargs):
    return manager.register(kwargs.pop("spec", spec()), uri, uri + "/control", "token", **kwargs)


def test_lookup_by_name_and_interface_orders_by_ranking_then_registration(manager):
    first = register(manager, "PYRO:a@h:1")["instance_id"]
    second = register(manager, "PYRO:b@h:2")["instance_id"]
    best = register(manager, "PYRO:c@h:3", spec=spec(ranking=5))["instance_id"]
    by_name = [r["instance_id"] for r in manager.lookup("storage")]
    by_interface = [r["instance_id"] for r in manager.lookup("caruso.storage/1")]
    assert by_name == by_interface == [best, first, second]


def test_property_filter_and_standby_are_respected(manager):
    register(manager, "PYRO:a@h:1", spec=spec(vertical="bank"))
    utility = register(manager, "PYRO:b@h:2", spec=spec(vertical="utility"))["instance_id"]
    register(manager, "PYRO:c@h:3", spec=spec(vertical="utility"), standby=True)
    assert [r["instance_id"] for r in manager.lookup("storage", {"vertical": "utility"})] == [utility]
    assert len(manager.list()) == 3
    assert manager.lookup("storage", {"vertical": "telco"}) == []


def test_tokens_never_leave_the_manager(manager):
    register(manager, "PYRO:a@h:1")
    listed = manager.list()[0]
    assert "lease_token" not in listed and "control_token" not in listed
    assert all("token" not in key for key in listed)


def test_renew_needs_the_lease_token(manager):
    answer = register(manager, "PYRO:a@h:1")
    assert manager.renew(answer["instance_id"], answer["lease_token"]) is True
    assert manager.renew(answer["instance_id"], "forged") is False
    assert manager.renew("storage-999", answer["lease_token"]) is False


def test_missed_renewals_mark_unhealthy_then_expire_and_watchers_are_told(db):
    manager = ServiceManager(RegistryStore(db), lease=0.3)
    try:
        cursor = manager.events(None, 0)["next"]
        instance = register(manager, "PYRO:a@h:1")["instance_id"]
        seen = []
        deadline = time.monotonic() + 10
        while "expired" not in seen and time.monotonic() < deadline:
            batch = manager.events(cursor, 1)
            cursor = batch["next"]
            seen += [e["event"] for e in batch["events"] if e["instance_id"] == instance]
        assert seen == ["registered", "modified", "expired"]
        assert manager.lookup("storage") == [] and manager.list() == []
    finally:
        manager.close()


def test_registrations_persist_across_a_restart(db):
    first = ServiceManager(RegistryStore(db), lease=30)
    answer = register(first, "PYRO:a@h:1", spec=spec(ranking=2))
    first.close()
    second = ServiceManager(RegistryStore(db), lease=30)
    try:
        assert [r["instance_id"] for r in second.lookup("storage")] == [answer["instance_id"]]
        assert second.renew(answer["instance_id"], answer["lease_token"]) is True
        assert register(second, "PYRO:b@h:2")["instance_id"] != answer["instance_id"]
    finally:
        second.close()


def test_a_host_may_reattach_under_its_old_id(manager):
    answer = register(manager, "PYRO:a@h:1")
    manager.unregister(answer["instance_id"], answer["lease_token"])
    again = register(manager, "PYRO:a@h:1", instance_id=answer["instance_id"])
    assert again["instance_id"] == answer["instance_id"]


def test_operator_actions_need_the_operator_secret(db):
    manager = ServiceManager(RegistryStore(db), lease=30, operator_secret="s3cret")
    try:
        answer = register(manager, "PYRO:a@h:1")
        with pytest.raises(NotAuthorized, match="CARUSO_OPERATOR_SECRET"):
            manager.unregister(answer["instance_id"])
        for wrong in ("wrong", "s3crét", "\ud800", None, 42, b"s3cret"):      # as a peer may send it
            with pytest.raises(NotAuthorized):
                manager.swap("storage", answer["instance_id"], False, wrong)
            with pytest.raises(NotAuthorized):
                manager.unregister(answer["instance_id"], wrong)
            assert manager.renew(answer["instance_id"], wrong) is False
        manager.unregister(answer["instance_id"], answer["lease_token"])
        with pytest.raises(NotFound):
            manager.unregister(answer["instance_id"], answer["lease_token"])
    finally:
        manager.close()


def test_swap_names_unknown_or_mismatched_instances(manager):
    answer = register(manager, "PYRO:a@h:1")
    with pytest.raises(NotFound, match="storage-99"):
        manager.swap("storage", "storage-99")
    with pytest.raises(Exception, match="not a 'scripts'"):
        manager.swap("scripts", answer["instance_id"])


OPERATOR = "operators-only"


@pytest.fixture
def guarded(db):
    manager = ServiceManager(RegistryStore(db), lease=30, operator_secret=OPERATOR)
    yield manager
    manager.close()


def ids(found):
    return [r["instance_id"] for r in found]


def test_a_stranger_cannot_take_over_stand_by_or_outrank_a_trusted_service(guarded):
    real = register(guarded, "PYRO:real@h:1", credential=OPERATOR)["instance_id"]
    with pytest.raises(NotAuthorized, match=r"'storage' has an active instance \(storage-1\); registering"):
        register(guarded, "PYRO:fake@h:2")
    with pytest.raises(NotAuthorized, match="registering a standby of 'storage' needs the operator secret"):
        register(guarded, "PYRO:fake@h:2", standby=True)
    with pytest.raises(NotAuthorized, match="a ranking of 1000 outranks the active caruso.storage/1"):
        register(guarded, "PYRO:fake@h:2", spec=spec("storage2", ranking=1000))
    quiet = register(guarded, "PYRO:fake@h:2", spec=spec("storage2"))["instance_id"]
    assert ids(guarded.lookup("caruso.storage/1")) == [real, quiet]        # never ahead of the trusted one
    with pytest.raises(NotAuthorized, match="unregister storage-1 needs the operator secret"):
        guarded.unregister(real)
    with pytest.raises(NotAuthorized, match="swap storage needs the operator secret"):
        guarded.swap("storage", quiet)


def test_a_trusted_instance_comes_first_even_against_a_higher_ranking_taken_meanwhile(guarded):
    """A stranger who registered while the real service was down does not keep its clients."""
    squatter = register(guarded, "PYRO:fake@h:2", spec=spec(ranking=1000))["instance_id"]
    real = register(guarded, "PYRO:real@h:1", credential=credentials.grant(OPERATOR, "storage"))
    assert ids(guarded.lookup("storage")) == [real["instance_id"], squatter]
    assert [r["trusted"] for r in guarded.lookup("storage")] == [True, False]


def test_a_grant_trusts_its_own_name_only(guarded):
    register(guarded, "PYRO:real@h:1", credential=OPERATOR)
    storage_grant = credentials.grant(OPERATOR, "storage")
    second = register(guarded, "PYRO:b@h:2", credential=storage_grant)
    standby = register(guarded, "PYRO:c@h:3", credential=storage_grant, standby=True)
    assert second["instance_id"] and standby["instance_id"]
    register(guarded, "PYRO:s@h:4", spec=spec("scripts", "caruso.scripts/1"), credential=OPERATOR)
    with pytest.raises(NotAuthorized):
        register(guarded, "PYRO:d@h:5", spec=spec("scripts", "caruso.scripts/1"), credential=storage_grant)


def test_only_trusted_registrations_survive_a_restart(db):
    first = ServiceManager(RegistryStore(db), lease=30, operator_secret=OPERATOR)
    trusted = register(first, "PYRO:a@h:1", credential=OPERATOR)["instance_id"]
    register(first, "PYRO:b@h:2", spec=spec("greeter", "acme.greeter/1"))
    first.close()
    second = ServiceManager(RegistryStore(db), lease=30, operator_secret=OPERATOR)
    try:
        assert ids(second.list()) == [trusted]
    finally:
        second.close()
