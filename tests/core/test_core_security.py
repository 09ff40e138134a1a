"""The deployment secret guards every daemon's handshake (attacks on the wire: test_core_wire.py)."""
import os
import subprocess
import sys

import Pyro5.api
import Pyro5.errors
import pytest

from caruso_core import remoting


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
