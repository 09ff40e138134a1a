"""Who may connect and register what, attacked as a local stranger process would: with
no secret, or with the deployment secret only (``caruso`` commands). The manager's
rules themselves are tested in-process in test_core_manager.py."""
import os
import subprocess
import sys
import zlib

from Pyro5 import protocol

from caruso_core import connect, credentials
from caruso_core.testing import peers
from caruso_core.testing.commands import caruso
from caruso_core.testing.processes import free_port

def test_a_local_process_with_the_deployment_secret_only_cannot_replace_or_retire(caruso_host, caruso_manager):
    real = caruso_host("sample_services:Counter")
    stranger = {"CARUSO_OPERATOR_SECRET": ""}
    standby = caruso("serve", "sample_services:Counter", "--standby", env=stranger)
    assert standby.exit_code == 1
    assert standby.stderr.strip().splitlines()[-1] == (
        "error: registering a standby of 'counter' needs the operator secret (CARUSO_OPERATOR_SECRET) "
        "or the grant of that name")
    retire = caruso("unregister", real.instance_id, env=stranger)
    assert retire.exit_code == 1 and "needs the operator secret" in retire.stderr
    assert [s["instance_id"] for s in connect().services()] == [real.instance_id]


def test_a_local_user_without_the_deployment_secret_is_refused(caruso_manager, tmp_path):
    outsider = {"CARUSO_DATA": str(tmp_path / "elsewhere"), "CARUSO_SECRET": "", "CARUSO_OPERATOR_SECRET": ""}
    listing = caruso("services", env=outsider)
    assert listing.exit_code == 1
    assert listing.stderr.strip() == (f"error: the service manager at {caruso_manager.uri} refused the "
                                      "connection: set CARUSO_SECRET to the deployment's secret")


def test_the_manager_makes_the_secrets_private(caruso_manager, tmp_path):
    for name in (credentials.DEPLOYMENT_FILE, credentials.OPERATOR_FILE):
        path = tmp_path / "data" / name
        assert path.stat().st_mode & 0o777 == 0o600
        assert len(path.read_text().strip()) >= 40


def test_init_makes_the_secrets_and_commands_in_the_folder_use_them(tmp_path):
    """No setting: a folder made by init is closed, and its own commands get in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CARUSO_DATA", "CARUSO_SECRET", "CARUSO_OPERATOR_SECRET", "CARUSO_MANAGER")}
    made = subprocess.run([sys.executable, "-m", "caruso_core", "init", "acme"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "acme"
    for name in (credentials.DEPLOYMENT_FILE, credentials.OPERATOR_FILE):
        assert (folder / "data" / name).stat().st_mode & 0o777 == 0o600
    uri = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
    env["CARUSO_MANAGER"] = uri
    manager = subprocess.Popen([sys.executable, "-m", "caruso_core", "manager"], cwd=folder, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert manager.stdout.readline().startswith("manager listening at")
        inside = subprocess.run([sys.executable, "-m", "caruso_core", "services"], cwd=folder, env=env,
                                capture_output=True, text=True, timeout=60)
        assert inside.returncode == 0, inside.stderr
        outside = subprocess.run([sys.executable, "-m", "caruso_core", "services"], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=60)
        assert outside.returncode == 1 and "refused the connection" in outside.stderr
    finally:
        manager.terminate()
        assert manager.wait(30) == 0


def test_running_without_a_secret_is_an_explicit_choice_with_a_warning(tmp_path):
    env = dict(os.environ, CARUSO_DATA=str(tmp_path / "data"),
               CARUSO_MANAGER=f"PYRO:caruso.manager@127.0.0.1:{free_port()}")
    manager = subprocess.Popen([sys.executable, "-m", "caruso_core", "manager", "--insecure"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert manager.stdout.readline().startswith("manager listening at")
        assert manager.stderr.readline().startswith("warning: running without a deployment secret (--insecure)")
        assert not (tmp_path / "data" / credentials.DEPLOYMENT_FILE).exists()
        stranger = subprocess.run([sys.executable, "-m", "caruso_core", "services"], capture_output=True,
                                  text=True, timeout=60, env=dict(env, CARUSO_DATA=str(tmp_path / "other")))
        assert stranger.returncode == 0          # anyone gets in: that is what --insecure means
        marshal = peers.message(protocol.MSG_CONNECT, b"[" * 13, serializer=2)
        assert peers.send(env["CARUSO_MANAGER"], marshal) == "refused: caruso speaks serpent only"
        compressed = peers.message(protocol.MSG_CONNECT, zlib.compress(b"[]" * 1000), flags=protocol.FLAGS_COMPRESSED)
        assert peers.send(env["CARUSO_MANAGER"], compressed) == "refused: compressed, batched or raw messages are not taken"
    finally:
        manager.terminate()
        manager.wait(30)
