"""Who may connect and register what, attacked as a local stranger process would: with
no secret, or with the deployment secret only (``caruso`` commands). The manager's
rules themselves are tested in-process in test_core_manager.py."""
import os
import subprocess
import sys

from caruso_core import connect, credentials

def caruso(*arguments, env=None):
    return subprocess.run([sys.executable, "-m", "caruso_core", *arguments], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_a_local_process_with_the_deployment_secret_only_cannot_replace_or_retire(caruso_host, caruso_manager):
    real = caruso_host("sample_services:Counter")
    stranger = {"CARUSO_OPERATOR_SECRET": "", "PYTHONPATH": os.path.dirname(__file__)}
    standby = caruso("serve", "sample_services:Counter", "--standby", env=stranger)
    assert standby.returncode == 1
    assert standby.stderr.strip().splitlines()[-1] == (
        "error: registering a standby of 'counter' needs the operator secret (CARUSO_OPERATOR_SECRET) "
        "or the grant of that name")
    retire = caruso("unregister", real.instance_id, env=stranger)
    assert retire.returncode == 1 and "needs the operator secret" in retire.stderr
    assert [s["instance_id"] for s in connect().services()] == [real.instance_id]


def test_a_local_user_without_the_deployment_secret_is_refused(caruso_manager, tmp_path):
    outsider = {"CARUSO_DATA": str(tmp_path / "elsewhere"), "CARUSO_SECRET": "", "CARUSO_OPERATOR_SECRET": ""}
    listing = caruso("services", env=outsider)
    assert listing.returncode == 1
    assert listing.stderr.strip() == (f"error: the service manager at {caruso_manager.uri} refused the "
                                      "connection: set CARUSO_SECRET to the deployment's secret")


def test_the_manager_makes_the_secrets_private(caruso_manager, tmp_path):
    for name in (credentials.DEPLOYMENT_FILE, credentials.OPERATOR_FILE):
        path = tmp_path / "data" / name
        assert path.stat().st_mode & 0o777 == 0o600
        assert len(path.read_text().strip()) >= 40
