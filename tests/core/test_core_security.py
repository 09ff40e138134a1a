"""The deployment secret guards every daemon's handshake (attacks on the wire: test_core_wire.py)."""
import os
import re
import subprocess
import sys

import Pyro5.api
import Pyro5.errors
import pytest

from caruso_core import credentials, remoting
from caruso_core.errors import ConfigError
from caruso_core.testing.commands import caruso


def test_without_the_secret_connections_are_refused_before_any_call(caruso_host, caruso_client, caruso_manager):
    host = caruso_host("sample_services:Counter")
    secret = caruso_manager.secret
    for uri in (host.uri, caruso_manager.uri):
        with Pyro5.api.Proxy(uri) as plain:
            with pytest.raises(Pyro5.errors.CommunicationError, match="CARUSO_SECRET"):
                plain._pyroBind()
        with remoting.proxy(uri, secret="wrong") as wrong:
            with pytest.raises(Pyro5.errors.CommunicationError, match="CARUSO_SECRET"):
                wrong._pyroBind()
    assert caruso_client.get("counter").increment()["value"] == 1   # the refused calls never ran
    with remoting.proxy(host.uri, secret=secret) as right:
        assert right.increment()["value"] == 2


def test_daemons_bind_to_loopback_by_default(caruso_host):
    host = caruso_host("sample_services:Echo")
    assert "@127.0.0.1:" in host.uri


def test_a_client_with_the_wrong_secret_is_told_so(caruso_manager):
    result = subprocess.run([sys.executable, "-m", "caruso_core", "services"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "CARUSO_SECRET": "wrong"})
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: the service manager at {caruso_manager.uri} refused the "
                                      "connection: set CARUSO_SECRET to the deployment's secret")


def test_only_the_manager_api_is_reachable_over_the_wire(caruso_manager):
    with remoting.proxy(caruso_manager.uri) as manager:
        manager._pyroBind()
        assert manager._pyroMethods == {"register", "renew", "unregister", "lookup", "list", "events",
                                        "health", "swap"}


@pytest.mark.parametrize("content, mode, says", [
    ("", 0o600, "holds no secret of 1 to 1024 characters: delete it"),
    (" \n", 0o600, "holds no secret"),
    ("x" * 1025, 0o600, "holds no secret"),
    ("a-secret\n", 0o644, "other users may read or change this secret (mode 644); make it its owner's only "
                          "(chmod 600"),
    ("a-secret\n", 0o620, "(mode 620)"),
    ("a-secret\n", 0o602, "(mode 602)"),
])
def test_a_secret_file_that_would_open_the_deployment_or_give_its_secret_away_is_refused(
        tmp_path, monkeypatch, content, mode, says):
    """An empty data/secret left the deployment open (every service accepting any local
    user); one others may read gave the secret away."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("CARUSO_SECRET", raising=False)
    (tmp_path / "data").mkdir(mode=0o700)
    secret = tmp_path / "data" / "secret"
    secret.write_text(content)
    secret.chmod(mode)
    with pytest.raises(ConfigError, match=re.escape(says)):
        credentials.deployment_secret()
    for command in (["up"], ["services"]):
        ran = caruso(*command)
        assert ran.exit_code == 1 and ran.stderr.startswith(f"error: {secret}") and says in ran.stderr, ran.output
        assert len(ran.stderr.splitlines()) == 1
    assert not (tmp_path / "data" / "manager.db").exists()            # nothing started


def test_a_secret_file_its_group_may_read_is_taken(tmp_path, monkeypatch):
    """A group may read the secrets (backups, operators); only other users may not."""
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path))
    monkeypatch.delenv("CARUSO_SECRET", raising=False)
    (tmp_path / "secret").write_text("a-secret\n")
    (tmp_path / "secret").chmod(0o640)
    assert credentials.deployment_secret() == "a-secret"
