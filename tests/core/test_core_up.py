"""caruso up: dependency order, restart of a crashed service, clean stop, the default deployment."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from caruso_core import ConfigError, ManagerUnreachable, connect
from caruso_core.deployment import load, parse
from caruso_core.testing import eventually
from caruso_core.testing.commands import caruso
from caruso_core.testing.processes import ManagerProcess, child_environment, free_port

HERE = os.path.dirname(__file__)


def deployment_toml(uri):
    return f"""
[manager]
uri = "{uri}"
lease = 2

[services.relay]
use = "sample_services:Relay"

[services.counter]
use = "sample_services:Counter"
config = {{ label = "from-toml" }}
properties = {{ ranking = 1 }}
"""


def test_file_order_and_errors(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(HERE)
    (tmp_path / "caruso.toml").write_text(deployment_toml("PYRO:caruso.manager@127.0.0.1:7000"))
    deployment = load(str(tmp_path / "caruso.toml"))
    assert [s.key for s in deployment.services] == ["counter", "relay"]
    assert deployment.services[0].config == {"label": "from-toml"}
    with pytest.raises(ConfigError, match=r"\[services.x\]: 'use' is missing"):
        parse({"services": {"x": {}}}, "f.toml")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) colour"):
        parse({"services": {"x": {"use": "sample_services:Echo", "colour": 1}}}, "f.toml")
    with pytest.raises(ConfigError, match="requires test.counter/1, which no service"):
        parse({"services": {"relay": {"use": "sample_services:Relay"}}}, "f.toml")
    with pytest.raises(ConfigError, match="circle"):
        parse({"services": {"a": {"use": "sample_services:Echo", "requires": ["test.echo/1"]}}}, "f.toml")
    for given, said in (({"version": 2}, "version is text (in quotes), not 2"),
                        ({"name": ["a"]}, "name is text (in quotes)"),
                        ({"properties": 5}, "properties must be a table"),
                        ({"config": "model.xml"}, "config must be a table"),
                        ({"requires": "test.counter/1"}, "requires is a list of interfaces")):
        with pytest.raises(ConfigError) as refused:
            parse({"services": {"x": {"use": "sample_services:Echo", **given}}}, "f.toml")
        assert str(refused.value).startswith("f.toml: [services.x]") and said in str(refused.value)
        assert str(refused.value).count("f.toml") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[services\n")
    with pytest.raises(ConfigError, match="bad.toml"):
        load(str(bad))


def test_the_deployment_s_time_zone_goes_to_each_service_that_takes_one_and_sets_none():
    deployment = parse({"timezone": "Europe/Amsterdam", "services": {
        "storage": {"use": "storage"}, "frontoffice": {"use": "frontoffice", "config": {"timezone": "Asia/Kolkata"}},
        "scripts": {"use": "scripts"}, "monitor": {"use": "monitor"}}}, "f.toml")
    configs = {entry.key: entry.config for entry in deployment.services}
    assert configs == {"storage": {"timezone": "Europe/Amsterdam"}, "frontoffice": {"timezone": "Asia/Kolkata"},
                       "scripts": {"timezone": "Europe/Amsterdam"}, "monitor": {}}   # its own kept; one takes none
    for zone in ("Europe/Amsterdm", "../../etc/passwd", 1, "", "localtime", "Factory", "right/Europe/Berlin"):
        with pytest.raises(ConfigError) as refused:
            parse({"timezone": zone, "services": {}}, "f.toml")
        assert str(refused.value) == (f"f.toml: timezone: unknown time zone {str(zone)!r}; use an IANA name such as "
                                      "Europe/Berlin, or UTC")


@contextlib.contextmanager
def caruso_up(folder, env, timeout=90):
    """``caruso up`` in ``folder``, up; yields its output lines (still growing). On leaving:
    Ctrl-C, then it must exit with 0 and without a traceback."""
    up = subprocess.Popen([sys.executable, "-m", "caruso_core", "up"], cwd=folder, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(line.rstrip() for line in up.stdout), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any(line.startswith("caruso is up") for line in lines), lines, timeout)
        yield lines
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(90)
        reader.join(10)
    assert code == 0, "\n".join(lines)
    assert "Traceback" not in json.dumps(lines)


def test_up_starts_in_order_restarts_a_crash_and_stops_cleanly(tmp_path, monkeypatch):
    uri = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
    (tmp_path / "caruso.toml").write_text(deployment_toml(uri))
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    with caruso_up(tmp_path, child_environment([HERE], tmp_path / "data", None)) as lines:
        serving = [line.split("]")[0][1:] for line in lines if " serving " in line]
        assert serving == ["counter", "relay"]
        relay = connect(uri).get("relay")
        assert relay.bump() == {"value": 1, "label": "from-toml"}

        counter_pid = connect(uri).health()[0]["health"]["pid"]
        os.kill(counter_pid, signal.SIGKILL)
        wait_until(lambda: sum(" serving counter" in line for line in lines) == 2, lines)
        assert any("counter exited with code -9; restarting" in line for line in lines)
        assert relay.bump()["value"] == 1                    # a new counter, found transparently
        monkeypatch.chdir(tmp_path)                          # a second up would share the databases
        second = caruso("up", "--manager-port", free_port())
        assert second.exit_code == 1 and second.stderr.startswith("error: a caruso up runs in this folder already "
                                                                  "(pid "), second.output
        assert len(second.stderr.splitlines()) == 1 and relay.bump()["value"] == 2
        healthy = caruso("health")                           # the manager of the folder's up
        assert healthy.exit_code == 0 and {"counter", "relay"} <= set(healthy.stdout.split()), healthy.output
        with open(tmp_path / "caruso.toml", "a") as file:     # a service the deployment has, that nothing serves
            file.write('\n[services.extra]\nuse = "sample_services:Counter"\nname = "extra"\n')
        missing = caruso("health")
        assert missing.exit_code == 1
        assert [line.split()[:5] for line in missing.stdout.splitlines() if "extra" in line] == [
            ["-", "extra", "1.0.0", "missing", "missing"]], missing.stdout
        with open(tmp_path / "caruso.toml", "a") as file:     # a file half edited: what runs still counts
            file.write("\n[services.half\n")
        edited = caruso("health")
        assert edited.exit_code == 0 and "counter" in edited.stdout, edited.output
        assert edited.stderr.startswith("warning: services missing from caruso.toml not checked: caruso.toml: ")
    assert lines[-1] == "caruso is down"


def test_up_in_an_empty_folder_starts_the_default_components_and_the_front_office(tmp_path):
    env = dict(child_environment([HERE], tmp_path / "data", None),
               CARUSO_MANAGER=f"PYRO:caruso.manager@127.0.0.1:{free_port()}")
    with caruso_up(tmp_path, env, timeout=180) as lines:
        serving = {line.split("]")[0][1:] for line in lines if " serving " in line}
        assert serving == {"storage", "scripts", "comm", "monitor", "reports", "frontoffice"}
        assert any("front office at http://127.0.0.1:8080" in line for line in lines)
        with urllib.request.urlopen("http://127.0.0.1:8080/signin", timeout=30) as page:
            assert page.status == 200 and b"Sign in" in page.read()


def wait_until(condition, lines, timeout=90):
    """``condition`` met within ``timeout`` seconds, else a failure showing the output ``lines``."""
    try:
        eventually(condition, limit=timeout)
    except AssertionError:
        raise AssertionError("\n".join(lines)) from None


def test_up_keeps_credentials_off_command_lines_and_revives_retired_or_hung_services(tmp_path, monkeypatch):
    uri = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
    label = "postgresql://crm:hunter2@db/crm"            # stands for a credential in a service's config
    (tmp_path / "caruso.toml").write_text(deployment_toml(uri).replace('"from-toml"', f'"{label}"'))
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    with caruso_up(tmp_path, child_environment([HERE], tmp_path / "data", None)) as lines:
        client = connect(uri)
        assert client.get("relay").bump()["label"] == label
        operator = (tmp_path / "data" / "operator.secret").read_text().strip()
        pids = {row["name"]: row["health"]["pid"] for row in client.health()}
        for name, pid in pids.items():
            assert label not in open(f"/proc/{pid}/cmdline").read()
            environment = open(f"/proc/{pid}/environ").read()
            assert operator not in environment                  # services hold only their own grant
        assert (tmp_path / "data" / "secret").stat().st_mode & 0o777 == 0o600

        counter = client.services()[0]
        assert counter["name"] == "counter"
        client.unregister(counter["instance_id"])               # an operator retires it
        wait_until(lambda: any("WARNING: counter was retired and no instance of counter is active; restarting it"
                               in line for line in lines), lines)
        wait_until(lambda: sum(" serving counter" in line for line in lines) == 2, lines)
        [control] = [s for s in client.services() if s["name"] == "supervisor"]
        client.unregister(control["instance_id"])               # caruso swap's way in, retired by mistake
        wait_until(lambda: any("the control service (caruso swap) was retired; serving it again" in line
                               for line in lines), lines)
        eventually(lambda: [s for s in client.services() if s["name"] == "supervisor" and s["healthy"]],
                   what="the control service registered again")

        hung = connect(uri).health()
        counter_pid = next(row["health"]["pid"] for row in hung if row["name"] == "counter")
        os.kill(counter_pid, signal.SIGSTOP)                    # alive, but renews nothing
        wait_until(lambda: any("stopped renewing its lease; killing and restarting it" in line
                               for line in lines), lines)
        wait_until(lambda: sum(" serving counter" in line for line in lines) == 3, lines)
        assert client.get("relay").bump()["value"] == 1


def test_swap_through_up_starts_the_new_instance_keeps_the_old_to_go_back_and_leaves_nothing(tmp_path, monkeypatch):
    uri = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
    (tmp_path / "caruso.toml").write_text(deployment_toml(uri))
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    with caruso_up(tmp_path, child_environment([HERE], tmp_path / "data", None)) as lines:
        client = connect(uri)
        counter = client.get("counter")
        assert [counter.increment()["value"] for _ in range(3)] == [1, 2, 3]

        ran = caruso("swap", "counter", "--version", "2.0.0", "-c", "label=v2", "--manager", uri)
        assert ran.exit_code == 0, ran.output
        assert counter.increment() == {"value": 4, "label": "v2"}        # its state moved, its config is new
        rows = {(row["version"], row["state"]) for row in client.services() if row["name"] == "counter"}
        assert rows == {("2.0.0", "active"), ("1.0.0", "standby")}

        assert caruso("swap", "counter", "--back", "--manager", uri).exit_code == 0
        assert counter.increment() == {"value": 5, "label": "from-toml"}

        assert caruso("swap", "counter", "-c", "label=v3", "--manager", uri).exit_code == 0
        assert counter.increment() == {"value": 6, "label": "v3"}
        # one standby at a time: the instance before the last swap's is retired
        eventually(lambda: sorted(row["state"] for row in client.services() if row["name"] == "counter"),
                   lambda states: states == ["active", "standby"], what="one standby left")

        refused = caruso("swap", "counter", "--manager", uri, env={"CARUSO_OPERATOR_SECRET": "guess"})
        assert refused.exit_code == 1 and "operator secret" in refused.stderr
        unknown = caruso("swap", "countr", "--manager", uri)
        assert unknown.exit_code == 1 and "runs no service 'countr'" in unknown.stderr
        failing = caruso("swap", "counter", "-c", "colour=red", "--manager", uri)
        assert failing.exit_code == 1 and "colour" in failing.stderr
        assert counter.increment() == {"value": 7, "label": "v3"}         # a failed swap changes nothing
        [standby] = [row["instance_id"] for row in client.services()
                     if row["name"] == "counter" and row["state"] == "standby"]
        client.swap("counter", standby)                   # by the manager, as the admin's page does
        assert counter.increment() == {"value": 8, "label": "from-toml"}
        eventually(lambda: [line for line in lines                 # up follows it (its next check)
                            if f"counter: {standby} is active (swapped without caruso up); " in line],
                   what="caruso up following the swap")
        back = caruso("swap", "counter", "--back", "--manager", uri)    # up follows: back is the other one
        assert back.exit_code == 0, back.stderr
        assert counter.increment() == {"value": 9, "label": "v3"}
        pids = [row["health"]["pid"] for row in client.health() if "pid" in row["health"]]
    assert lines[-1] == "caruso is down"
    eventually(lambda: [pid for pid in pids if os.path.exists(f"/proc/{pid}") and
                        "zombie" not in open(f"/proc/{pid}/status").read().lower()],
               lambda left: left == [], what="every instance, standbys too, ended")


class ManagerSwappingMidway:
    """Stands in for the manager (the interleaving cannot be forced with a real one): its
    ``swap`` makes the instance active, then runs the supervisor's registration check as its
    main loop could at that moment, while the swap has not finished."""

    def __init__(self, supervisor, active):
        self.supervisor, self.active, self.checked = supervisor, active, []

    def services(self):
        return [{"instance_id": active, "state": "active", "healthy": True} for active in self.active]

    def lookup(self, name):
        return [{"instance_id": active} for active in self.active]

    def swap(self, name, instance_id):
        self.active[:] = [instance_id]
        checking = threading.Thread(target=self.supervisor._check_registrations)
        checking.start()
        checking.join()
        self.checked.append(instance_id)


def test_up_s_registration_check_does_not_follow_a_swap_back_it_makes_half_made():
    from types import SimpleNamespace

    from caruso_core.supervisor import Supervised, Supervisor
    uri = "PYRO:caruso.manager@127.0.0.1:7000"
    supervisor = Supervisor(parse({"manager": {"uri": uri}, "services": {
        "counter": {"use": "sample_services:Counter"}}}, "caruso.toml"), echo=lambda line: None, insecure=True)
    [_, counter] = supervisor.children
    counter.child = SimpleNamespace(alive=True, record={"instance_id": "v2"})
    older = Supervised("counter@1", counter.arguments, counter.environment, "counter",
                       child=SimpleNamespace(alive=True, record={"instance_id": "v1"}))
    supervisor._standbys["counter"] = older
    supervisor._client = ManagerSwappingMidway(supervisor, ["v2"])
    assert supervisor.back("counter") == {"active": "v1", "standby": "v2"}   # it failed: "... is not in list"
    assert supervisor._client.checked == ["v1"] and supervisor.children[1] is older
    supervisor._check_registrations()                                         # the next check agrees
    assert supervisor.children[1] is older and supervisor._standbys["counter"] is counter
    assert repr(counter) == "Supervised('counter')"            # its environment and configuration hold secrets


def test_up_keeps_a_new_instance_the_manager_made_active_when_the_answer_to_the_swap_was_lost(monkeypatch):
    from types import SimpleNamespace

    from caruso_core.errors import Unavailable
    from caruso_core.supervisor import Supervisor
    supervisor = Supervisor(parse({"manager": {"uri": "PYRO:caruso.manager@127.0.0.1:7000", "db": "sqlite:///m.db"},
                                   "services": {"counter": {"use": "sample_services:Counter"}}}, "caruso.toml"),
                            echo=lambda line: None, insecure=True)
    [manager, counter] = supervisor.children
    assert "sqlite:///m.db" not in manager.arguments and manager.environment["CARUSO_MANAGER_DB"] == "sqlite:///m.db"
    assert "CARUSO_MANAGER_DB" not in counter.environment
    counter.child = SimpleNamespace(alive=True, record={"instance_id": "v1"})
    stopped = []

    def start(supervised, standby=False):
        supervised.child = SimpleNamespace(alive=True, record={"instance_id": supervised.label},
                                           stop=lambda grace: stopped.append(supervised.label))
    monkeypatch.setattr(supervisor, "_start", start)
    monkeypatch.setattr(supervisor, "_await_ready", lambda supervised: None)
    active = ["v1"]

    def swap_whose_answer_is_lost(name, instance_id):
        active[:] = [instance_id]
        raise Unavailable("the manager did not answer within 30s")
    supervisor._client = SimpleNamespace(lookup=lambda name: [{"instance_id": a} for a in active],
                                         swap=swap_whose_answer_is_lost)
    assert supervisor.swap("counter", version="2.0.0") == {"active": "counter@2.0.0", "standby": "v1"}
    assert stopped == [] and supervisor.children[1].instance_id == "counter@2.0.0"
    supervisor._client.swap = lambda name, instance_id: (_ for _ in ()).throw(Unavailable("no manager"))
    with pytest.raises(Unavailable):                         # not made active: the new instance is stopped
        supervisor.swap("counter", version="3.0.0")
    assert stopped == ["counter@3.0.0"] and supervisor.children[1].instance_id == "counter@2.0.0"
    supervisor._client.swap = swap_whose_answer_is_lost                  # back, its answer lost too
    assert supervisor.back("counter") == {"active": "v1", "standby": "counter@2.0.0"}
    assert supervisor.children[1].instance_id == "v1"
    supervisor.stop()
    with pytest.raises(ConfigError, match="^caruso up is stopping: no swap now$"):
        supervisor.back("counter")


def test_up_with_a_group_of_managers_runs_the_first_and_gives_its_services_all(tmp_path, monkeypatch,
                                                                              postgres_database):
    """``[manager] uri`` lists two managers of one PostgreSQL registry: ``caruso up`` runs the
    first and gives its services the list. With the second started by hand, the first's
    death (``kill -9``) leaves the services registered with the second, which their hosts
    now renew with, and their calls unbroken; up's manager, restarted, follows."""
    data = tmp_path / "data"
    monkeypatch.setenv("CARUSO_DATA", str(data))
    env = child_environment([HERE], data, None)
    first = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
    second = ManagerProcess(tmp_path, 2.0, env, db=postgres_database)
    second.stop()                                          # its address chosen; started once up leads
    (tmp_path / "caruso.toml").write_text(deployment_toml(f"{first},{second.uri}").replace(
        "lease = 2", f'lease = 2\ndb = "{postgres_database}"'))
    registered = {"counter", "relay", "supervisor"}        # the services and up's control service
    try:
        with caruso_up(tmp_path, env) as lines:
            assert any(f"manager at {first},{second.uri}" in line for line in lines)
            relay = connect(f"{first},{second.uri}").get("relay")
            assert relay.bump()["value"] == 1
            second.restart()
            assert f"does not lead its group; the leader is at {first}" in _asked(second.uri)
            manager = next(pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                           if _cmdline(pid).startswith(f"{sys.executable} -m caruso_core manager --uri {first} "))
            os.kill(manager, signal.SIGKILL)
            eventually(lambda: _asked(second.uri), lambda found: _healthy(found) == registered,
                       limit=30, what="the services registered with the new leader")
            # the new leader gave each registration a fresh lease: one whose host did not renew
            # with it would be unhealthy after a lease and gone after two (no event marks a renewal)
            expired = time.monotonic() + 2 * 2.0
            eventually(lambda: (time.monotonic(), _asked(second.uri)),
                       lambda seen: seen[0] > expired and _healthy(seen[1]) == registered,
                       limit=30, what="the hosts renewing their leases with the new leader")
            assert relay.bump()["value"] == 2                  # the same counter: no call broken
            wait_until(lambda: any("manager exited with code -9; restarting" in line for line in lines), lines)
            eventually(lambda: _asked(first), lambda said: f"the leader is at {second.uri}" in str(said), limit=30,
                       what="up's restarted manager following the new leader")
    finally:
        second.stop()


def _cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _asked(uri):
    """The registrations the manager at ``uri`` lists, or its refusal as text (not the
    leader, or not answering)."""
    try:
        return connect(uri, timeout=3).services()
    except ManagerUnreachable as refused:
        return str(refused)


def _healthy(answer):
    return {row["name"] for row in answer if row["healthy"]} if isinstance(answer, list) else None


def test_ctrl_c_while_up_starts_stops_what_started_and_blames_nobody(tmp_path, monkeypatch):
    uri = f"PYRO:caruso.manager@127.0.0.1:{free_port()}"
    (tmp_path / "caruso.toml").write_text(deployment_toml(uri) + f"""
[services.slow]
use = "sample_services:SlowStart"
config = {{ folder = "{tmp_path}" }}
""")
    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "data"))
    up = subprocess.Popen([sys.executable, "-m", "caruso_core", "up"], cwd=tmp_path,
                          env=child_environment([HERE], tmp_path / "data", None),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        eventually(lambda: (tmp_path / "starting").exists() or up.poll() is not None, limit=90,
                   what="the slow service starting")
        up.send_signal(signal.SIGINT)
        output, _ = up.communicate(timeout=90)
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0, output
    assert "stopped while starting" in output and "did not start" not in output and "Traceback" not in output
    assert output.rstrip().endswith("caruso is down")
