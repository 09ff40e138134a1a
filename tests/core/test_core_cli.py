"""The caruso command: user errors are one clear line and a non-zero exit (run in process,
as the console script runs it; tests of serving commands start processes)."""
import json

from caruso_core.testing.commands import caruso
from caruso_core.testing.processes import free_port


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
