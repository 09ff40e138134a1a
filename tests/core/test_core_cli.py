"""The caruso command: user errors are one clear line and a non-zero exit (run in process,
as the console script runs it; tests of serving commands start processes)."""
import json
import os
import socket

import pytest

from caruso_core.deployment import parse
from caruso_core.errors import ConfigError
from caruso_core.testing.commands import caruso
from caruso_core.testing.processes import free_port

HERE = os.path.dirname(__file__)


def test_version():
    result = caruso("--version")
    assert result.exit_code == 0 and "caruso, version" in result.stdout


def test_unreachable_manager_names_the_address_and_the_fix():
    uri = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
    result = caruso("services", env={"CARUSO_MANAGER": uri})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no service manager answers at " + uri)
    assert "CARUSO_MANAGER" in lines[0]


def test_bad_service_reference_is_one_line(caruso_manager):
    for reference, message in [("no_such_module:Thing", "cannot import 'no_such_module'"),
                               ("sample_services:Nothing", "has no 'Nothing'"),
                               ("not-installed", "no service implementation named 'not-installed'"),
                               ("sample_services:_Private", "is not a caruso service")]:
        result = caruso("serve", reference)
        assert result.exit_code == 1, reference
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_services_json_and_health(caruso_host, caruso_manager):
    host = caruso_host("sample_services:Echo", properties={"ranking": 3})
    listed = json.loads(caruso("services", "--json").stdout)
    assert [(s["instance_id"], s["ranking"], s["state"]) for s in listed] == [(host.instance_id, 3, "active")]
    health = caruso("health", "--json")
    assert health.exit_code == 0
    assert json.loads(health.stdout)[0]["health"]["status"] == "ok"


def test_a_served_process_keeps_what_it_loaded_to_start_out_of_garbage_collections(caruso_host, caruso_client):
    # full collections would otherwise scan every module, class and model object again,
    # tens of milliseconds in a storage service, every few large answers
    caruso_host("sample_services:ProcessFacts", process=True)
    assert caruso_client.get("facts").frozen_objects() > 10_000


def test_swap_without_operator_secret_is_refused(caruso_host, caruso_manager, tmp_path, monkeypatch):
    caruso_manager.restart(operator_secret="ops")
    monkeypatch.setenv("CARUSO_OPERATOR_SECRET", "ops")
    caruso_host("sample_services:Counter")
    standby = caruso_host("sample_services:Counter", standby=True)
    refused = caruso("swap", "counter", standby.instance_id, env={"CARUSO_OPERATOR_SECRET": ""})
    assert refused.exit_code == 1 and "needs the operator secret" in refused.stderr
    allowed = caruso("swap", "counter", standby.instance_id)
    assert allowed.exit_code == 0, allowed.stderr


def test_a_broken_component_command_does_not_break_the_cli(tmp_path, monkeypatch):
    """An entry point of group caruso.commands that fails to load is named, and skipped."""
    dist = tmp_path / "broken_cmd-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-cmd\nVersion: 0\n")
    (dist / "entry_points.txt").write_text("[caruso.commands]\nbroken = no_such_package.cli:group\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = caruso("--help")
    assert result.exit_code == 0 and "serve" in result.stdout
    assert "command 'broken' (no_such_package.cli:group) cannot be loaded" in result.stderr


@pytest.mark.parametrize("arguments", [["services"], ["comm", "--manager", "{m}", "queues"], ["monitor", "--once"],
                                       ["report", "incoming-calls"], ["script", "run", "{f}"]])
def test_every_command_that_talks_to_a_manager_takes_host_and_port(arguments, caruso_manager, tmp_path):
    """A bad address is one line; HOST:PORT reaches the manager (here: and then finds no such service)."""
    script = tmp_path / "s.xml"
    script.write_text('<?xml version="1.0"?>\n<script id="s" version="1"><end id="e" outcome="x"/></script>\n')
    given = [a.format(m="nowhere", f=script) for a in arguments]
    if "--manager" not in given:
        given += ["--manager", "nowhere"]
    bad = caruso(*given)
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
    assert "--manager 'nowhere': give HOST:PORT (a port from 1 to 65535, e.g. 127.0.0.1:7717) or a Pyro5 URI" in bad.stderr
    host_port = caruso_manager.uri.split("@")[1]
    reached = caruso(*[a.format(m=host_port, f=script) for a in arguments],
                     *([] if "--manager" in arguments else ["--manager", host_port]))
    assert "give HOST:PORT" not in reached.output and "no service manager answers" not in reached.output


def test_attack_bad_numbers_ports_and_names_are_one_line_before_anything_is_made(tmp_path, monkeypatch):
    """nan and infinities (which click's ranges let through), a web port whose web chat would
    be 65536, ports that clash, an unknown vertical: refused in one line, no folder left."""
    monkeypatch.chdir(tmp_path)
    for value in ("nan", "inf"):                                 # (-inf is below the range)
        refused = caruso("simulate", "--agents", "2", "--calls-per-hour", value, "--aht", "180", "--hours", "1")
        assert refused.exit_code == 2 and f"{value!r} is not a finite number" in refused.stderr
    assert "is not a finite number" in caruso("manager", "--lease", "inf").stderr
    assert caruso("init", "p", "--web-port", "65535").exit_code == 2
    clash = caruso("init", "p", "--manager-port", "28081", "--web-port", "28080")
    assert clash.exit_code == 1 and clash.stderr == ("error: --manager-port 28081 clashes with --web-port 28080: the "
                                                     "front office takes 28080 and its web chat 28081\n")
    unknown = caruso("init", "q", "--vertical", "nosuch")
    assert unknown.exit_code == 1 and "no vertical named 'nosuch'" in unknown.stderr
    (tmp_path / "empty").mkdir()
    assert caruso("init", "empty", "--vertical", "nosuch").exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"] and not any((tmp_path / "empty").iterdir())
    made = caruso("init", "a b")
    assert made.exit_code == 0 and made.stdout.rstrip().endswith("start it with: cd 'a b' && caruso up")
    with pytest.raises(ConfigError, match=r"^f.toml: \[manager\] lease must be a number of seconds >= 0.2$"):
        parse({"manager": {"lease": float("nan")}}, "f.toml")


def test_a_port_taken_or_out_of_range_is_one_line(caruso_manager, monkeypatch):
    monkeypatch.syspath_prepend(HERE)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = caruso("serve", "sample_services:Echo", "--port", port, "--manager", caruso_manager.uri)
    assert refused.exit_code == 1 and refused.stderr.endswith(
        f"error: echo cannot listen at 127.0.0.1:{port} (Address already in use): give it another port or host\n")
    assert caruso("serve", "sample_services:Echo", "--port", 99999).exit_code == 2


def test_a_version_that_is_not_one_is_refused_in_one_line(monkeypatch):
    """``--version`` labels an instance (``caruso serve``, ``caruso swap``): text a registry
    and an operator can read, not anything."""
    monkeypatch.syspath_prepend(HERE)
    for bad in ("", "1.4.0 beta", "x" * 41, "-1"):
        refused = caruso("serve", "sample_services:Echo", "--version", bad)
        said = refused.stderr.splitlines()[-1]                   # after the no-secret warning
        assert refused.exit_code == 1 and said.startswith(f"error: version {bad[:41]!r} of echo is invalid")
