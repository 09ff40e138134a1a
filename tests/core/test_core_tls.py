"""Two-way TLS between processes with Pyro5's SSL settings, as docs/operators.md describes."""
import subprocess

import Pyro5
import Pyro5.errors
import pytest

from caruso_core import remoting

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def issue(name, extensions, cwd):
    openssl("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=cwd)
    (cwd / f"{name}.ext").write_text(extensions)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=cwd)


@pytest.fixture
def tls(tmp_path, monkeypatch):
    certs = tmp_path / "certs"
    certs.mkdir()
    openssl("req", "-x509", *EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test CA",
            cwd=certs)
    issue("host", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n", certs)
    issue("client", "extendedKeyUsage=clientAuth\n", certs)
    settings = {"SSL": True, "SSL_SERVERCERT": str(certs / "host.crt"), "SSL_SERVERKEY": str(certs / "host.key"),
                "SSL_CLIENTCERT": str(certs / "client.crt"), "SSL_CLIENTKEY": str(certs / "client.key"),
                "SSL_CACERTS": str(certs / "ca.crt"), "SSL_REQUIRECLIENTCERT": True}
    for key, value in settings.items():
        monkeypatch.setenv(f"PYRO_{key}", "1" if value is True else value)
        monkeypatch.setattr(Pyro5.config, key, value)
    return settings


def test_services_talk_over_two_way_tls_and_plain_tcp_is_refused(tls, caruso_host, caruso_client, monkeypatch):
    host = caruso_host("sample_services:Counter")
    assert caruso_client.get("counter").increment()["value"] == 1

    monkeypatch.setattr(Pyro5.config, "SSL", False)
    with remoting.proxy(host.uri) as plain:
        with pytest.raises(Pyro5.errors.CommunicationError):
            plain.increment()
    monkeypatch.setattr(Pyro5.config, "SSL", True)
    assert caruso_client.get("counter").increment()["value"] == 2   # the refused call never ran
