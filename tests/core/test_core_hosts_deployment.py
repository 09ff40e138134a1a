"""A deployment on several hosts: [hosts], [tls], each service's host, and which part
`caruso up --host NAME` runs; mistakes are one-line errors naming the file and the table."""
import os
import subprocess

import pytest

from caruso_core.deployment import manager_uri_here, parse, record_manager_uri, tls_here
from caruso_core.errors import ConfigError
from caruso_core.supervisor import Supervisor
from caruso_core.testing.commands import caruso

SERVICE = "sample_services:Counter"


@pytest.fixture
def pem_files(tmp_path, monkeypatch):
    """Readable files where a deployment names its TLS files (their content is checked by TLS itself)."""
    monkeypatch.chdir(tmp_path)
    for name in ("ca.crt", "h1.crt", "h1.key", "h2.crt", "h2.key"):
        (tmp_path / name).write_text("PEM\n")
    return tmp_path


def three_hosts(**changes):
    data = {"tls": {"ca": "ca.crt"},
            "hosts": {"h1": {"address": "10.0.0.1", "cert": "h1.crt", "key": "h1.key"},
                      "h2": {"address": "10.0.0.2", "cert": "h2.crt", "key": "h2.key"}},
            "manager": {"host": "h1", "lease": 2},
            "services": {"counter": {"use": SERVICE, "host": "h2", "port": 7801},
                         "counter-standby": {"use": SERVICE, "name": "counter", "host": "h1", "standby": True}}}
    for section, value in changes.items():
        data[section] = value
    return data


def test_each_host_runs_its_part_bound_to_its_address(pem_files):
    deployment = parse(three_hosts(), "caruso.toml")
    assert deployment.manager_uri == "PYRO:caruso.manager@10.0.0.1:7717"
    first, second = deployment.on("h1"), deployment.on("h2")
    assert first.runs_manager and not second.runs_manager
    assert [e.key for e in first.services] == ["counter-standby"] and first.services[0].standby
    assert [e.key for e in second.services] == ["counter"]
    arguments = second.services[0].serve_arguments(deployment.manager_uri)
    assert arguments[arguments.index("--host") + 1] == "10.0.0.2"
    assert arguments[arguments.index("--port") + 1] == "7801"
    assert second.tls.cert == str(pem_files / "h2.crt") and second.tls.ca == str(pem_files / "ca.crt")
    environment = second.tls.environment()
    assert environment["PYRO_SSL"] == "1" and environment["PYRO_SSL_REQUIRECLIENTCERT"] == "1"
    assert environment["PYRO_SSL_SERVERCERT"] == environment["PYRO_SSL_CLIENTCERT"] == str(pem_files / "h2.crt")


def test_a_part_elsewhere_starts_no_manager_and_services_as_placed(pem_files):
    part = Supervisor(parse(three_hosts(), "caruso.toml").on("h2"), echo=lambda line: None)
    assert [c.label for c in part.children] == ["counter"]
    assert part.children[0].environment["PYRO_SSL_SERVERKEY"] == str(pem_files / "h2.key")
    assert Supervisor(parse(three_hosts(), "caruso.toml").on("h1"), echo=lambda line: None
                      ).children[0].label == "manager"


def test_a_group_of_managers_runs_one_manager_on_each_of_its_hosts(pem_files):
    deployment = parse(three_hosts(manager={"host": ["h1", "h2"], "db": "postgresql+psycopg://db.acme/registry"}),
                       "caruso.toml")
    assert deployment.manager_uri == "PYRO:caruso.manager@10.0.0.1:7717,PYRO:caruso.manager@10.0.0.2:7717"
    for host, address in (("h1", "10.0.0.1"), ("h2", "10.0.0.2")):
        part = Supervisor(deployment.on(host), echo=lambda line: None)
        arguments = part.children[0].arguments
        assert part.children[0].label == "manager"
        assert arguments[arguments.index("--uri") + 1] == f"PYRO:caruso.manager@{address}:7717"
        service = next(c for c in part.children if c.name)       # services are given every manager
        assert service.arguments[service.arguments.index("--manager") + 1] == deployment.manager_uri
    given = parse(three_hosts(manager={"host": ["h1", "h2"], "uri": "PYRO:caruso.manager@10.0.0.1:7717"}),
                  "caruso.toml")
    with pytest.raises(ConfigError, match=r"^caruso.toml: \[manager\] uri names no manager at h2's address 10.0.0.2$"):
        given.on("h2")


def test_a_command_in_the_deployments_folder_takes_this_hosts_tls_and_the_managers_address(pem_files):
    (pem_files / "caruso.toml").write_text(
        '[tls]\nca = "ca.crt"\n[hosts.here]\naddress = "127.0.0.1"\ncert = "h1.crt"\nkey = "h1.key"\n'
        '[hosts.there]\naddress = "192.0.2.1"\ncert = "h2.crt"\nkey = "h2.key"\n[manager]\nhost = "there"\n')
    tls = tls_here()
    assert (tls.ca, tls.cert, tls.key) == tuple(str(pem_files / n) for n in ("ca.crt", "h1.crt", "h1.key"))
    assert manager_uri_here() == "PYRO:caruso.manager@192.0.2.1:7717"
    (pem_files / "caruso.toml").write_text('[hosts.there]\naddress = "192.0.2.1"\n[manager]\nhost = "there"\n')
    assert tls_here() is None                       # no TLS, and this machine is none of the hosts


def test_a_command_takes_the_address_a_running_up_noted_unless_the_note_is_no_address(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CARUSO_DATA", raising=False)
    (tmp_path / "caruso.toml").write_text('[manager]\nuri = "127.0.0.1:7717"\n')
    forget = record_manager_uri("PYRO:caruso.manager@127.0.0.1:7800")
    noted = tmp_path / "data" / "manager.uri"
    assert noted.stat().st_mode & 0o777 == 0o600
    assert manager_uri_here() == "PYRO:caruso.manager@127.0.0.1:7800"
    ours = noted.read_bytes()
    gone = _ended_pid()
    for garbage in (b"", b"not an address\n1\n", b"\xff\xfe", b"127.0.0.1:7800," * 400 + b"\n1\n",
                    b"127.0.0.1:7800\n", b"127.0.0.1:7800\n0\n",           # no up, or pid 0 (a process group)
                    b"127.0.0.1:7800\n%d\n" % gone):                         # an up killed since
        noted.write_bytes(garbage)
        assert manager_uri_here() == "127.0.0.1:7717", garbage[:20]
    started = ours.split(b"\n")[2]
    assert started.isdigit()                                                # when this process started
    noted.write_bytes(b"127.0.0.1:7800\n%d\n%d\n" % (os.getpid(), int(started) - 1))   # a pid taken since
    assert manager_uri_here() == "127.0.0.1:7717"
    noted.write_bytes(b"127.0.0.1:7801\n%d\n" % os.getpid())                # another up's note: kept
    forget()
    assert noted.exists() and manager_uri_here() == "127.0.0.1:7801"
    noted.write_bytes(ours)
    forget()
    assert not noted.exists() and manager_uri_here() == "127.0.0.1:7717"


def _ended_pid():
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def test_without_hosts_nothing_changes(pem_files):
    deployment = parse({"services": {"counter": {"use": SERVICE}}}, "caruso.toml")
    assert deployment.on(None) is deployment and deployment.runs_manager
    assert not {"--host", "--port"} & set(deployment.services[0].serve_arguments(deployment.manager_uri))


@pytest.mark.parametrize("changes, said", [
    ({"services": {"counter": {"use": SERVICE, "host": "h9"}}},
     "caruso.toml: [services.counter]: host 'h9' is not one of the deployment's [hosts] (h1, h2)"),
    ({"services": {"counter": {"use": SERVICE}}},
     "caruso.toml: [services.counter]: host is missing: the deployment has [hosts] (h1, h2)"),
    ({"manager": {"host": "h7"}}, "caruso.toml: [manager]: host 'h7' is not one of"),
    ({"manager": {"host": ["h1", "h8"]}}, "caruso.toml: [manager]: host 'h8' is not one of"),
    ({"manager": {"host": 1}}, "caruso.toml: [manager] host is a host's name, or a list of them"),
    ({"hosts": {"h1": {"address": "10.0.0.1 && x"}}}, "caruso.toml: [hosts.h1] address '10.0.0.1 && x'"),
    ({"hosts": {"h1": {"address": "10.0.0.1", "port": 1}}}, "caruso.toml: [hosts.h1]: unknown key(s) port"),
    ({"hosts": {"h1": {"address": "10.0.0.1", "cert": "missing.crt", "key": "h1.key"}}},
     "caruso.toml: [hosts.h1] cert missing.crt: cannot read it"),
    ({"hosts": {"h1": {"address": "10.0.0.1", "cert": "h1.crt"}}},
     "caruso.toml: [hosts.h1] TLS needs ca, cert and key (in [tls] or the host's table); missing: key"),
    ({"tls": {"ca": "ca.crt", "password": "x"}}, "caruso.toml: [tls]: unknown key(s) password"),
    ({"services": {"counter": {"use": SERVICE, "host": "h1", "port": "80"}}},
     "caruso.toml: [services.counter]: port is a number from 1 to 65535"),
    ({"services": {"counter": {"use": SERVICE, "host": "h1", "standby": "yes"}}},
     "caruso.toml: [services.counter]: standby is true or false"),
])
def test_mistakes_name_the_file_and_the_table(pem_files, changes, said):
    with pytest.raises(ConfigError) as raised:
        parse(three_hosts(**changes), "caruso.toml")
    assert str(raised.value).startswith(said) and "\n" not in str(raised.value)


def test_caruso_up_says_which_part_to_start(pem_files):
    (pem_files / "caruso.toml").write_text(
        '[hosts.h1]\naddress = "10.0.0.1"\n[manager]\nhost = "h1"\n'
        f'[services.counter]\nuse = "{SERVICE}"\nhost = "h1"\n')
    (pem_files / "single.toml").write_text(f'[services.counter]\nuse = "{SERVICE}"\n')
    for arguments, said in ((["caruso.toml"], "caruso.toml places services on hosts h1: start each host's part "
                                               "with 'caruso up --host NAME'"),
                            (["caruso.toml", "--host", "h5"], "caruso.toml: no host 'h5' (hosts: h1)"),
                            (["single.toml", "--host", "h1"], "single.toml declares no [hosts.NAME]")):
        ran = caruso("up", *arguments)
        assert ran.exit_code == 1 and ran.stderr.startswith(f"error: {said}"), ran.output
