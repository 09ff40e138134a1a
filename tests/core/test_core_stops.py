"""Stops that stop: every long-running command (manager, serve, up, demo) ends, with all it
started, on SIGINT and on SIGTERM, sent to it or to its process group, also when a shell
started it in the background with SIGINT ignored, and what up started also when up is
killed; afterwards no process of it is left and no port of it listens."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from caruso_core.cli import cli
from caruso_core.deployment import RUNNING_MANAGER_FILE, manager_uri_here
from caruso_core.testing import eventually
from caruso_core.testing.processes import free_port

HERE = Path(__file__).parent
TARGETS = [(signal.SIGINT, "group"), (signal.SIGTERM, "command")]


class Command:
    """A caruso command in a session of its own (its process group), with SIGINT ignored
    as a shell does for a background job; its output collected."""

    def __init__(self, arguments, data, cwd=None):
        self.data = str(data)
        env = dict(os.environ, CARUSO_DATA=self.data, PYTHONPATH=str(HERE), PYTHONUNBUFFERED="1")
        env.pop("CARUSO_MANAGER", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "caruso_core", *arguments], cwd=cwd, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(line.rstrip() for line in self.process.stdout),
                         daemon=True).start()

    def wait_for(self, words, limit=120):
        eventually(lambda: any(words in line for line in self.lines) or self.process.poll() is not None,
                   limit=limit, what=f"{words!r} in the output")
        assert self.process.poll() is None, "\n".join(self.lines)

    def stop(self, signum, target):
        if target == "group":
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        return self.process.wait(120)


def processes_of(data):
    """Pids of the processes whose environment names the data folder ``data``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"CARUSO_DATA={data}\0".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def listening(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def assert_all_gone(command, *ports):
    eventually(lambda: not processes_of(command.data), limit=30, what="every process of the command gone")
    assert [port for port in ports if listening(port)] == []


@pytest.mark.parametrize("signum, target", TARGETS + [(signal.SIGINT, "command"), (signal.SIGTERM, "group")])
def test_manager_and_serve_stop_on_each_signal(tmp_path, signum, target):
    port = free_port()
    uri = f"127.0.0.1:{port}"
    manager = Command(["manager", "--uri", f"PYRO:caruso.manager@{uri}"], tmp_path / "data")
    manager.wait_for("manager listening at")
    host = Command(["serve", "sample_services:Counter", "--manager", uri, "--port", str(free_port())],
                   tmp_path / "data")
    host.wait_for("serving counter")
    host_port = int(host.lines[-1].rsplit(":", 1)[1])
    assert host.stop(signum, target) == 0
    assert listening(port) and not listening(host_port)
    assert manager.stop(signum, target) == 0
    assert_all_gone(manager, port, host_port)


DEPLOYMENT = """
[manager]
lease = 2

[services.counter]
use = "sample_services:Counter"
"""


@pytest.mark.parametrize("signum, target", TARGETS)
def test_up_stops_everything_it_started(tmp_path, monkeypatch, signum, target):
    (tmp_path / "caruso.toml").write_text(DEPLOYMENT)
    port = free_port()
    up = Command(["up", "--manager-port", str(port)], tmp_path / "data", cwd=tmp_path)
    up.wait_for("caruso is up")
    assert len(processes_of(up.data)) == 3                  # up, the manager, the counter's host
    # a command in the folder finds the manager at the port up was given, not at caruso.toml's
    monkeypatch.chdir(tmp_path)
    for name in ("CARUSO_MANAGER", "CARUSO_DATA", "CARUSO_SECRET", "CARUSO_OPERATOR_SECRET"):
        monkeypatch.delenv(name, raising=False)
    listed = CliRunner().invoke(cli, ["services", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {service["name"] for service in json.loads(listed.output)} == {"counter", "supervisor"}
    assert up.stop(signum, target) == 0
    assert up.lines[-1] == "caruso is down"
    assert_all_gone(up, port)
    assert not (tmp_path / "data" / RUNNING_MANAGER_FILE).exists()


def test_what_up_started_stops_by_itself_when_up_is_killed(tmp_path, monkeypatch):
    """``kill -9`` of up (or the kernel's out-of-memory killer) runs none of its code: its
    manager and hosts see their lifeline end and stop gracefully, leaving no port open."""
    (tmp_path / "caruso.toml").write_text(DEPLOYMENT)
    port = free_port()
    up = Command(["up", "--manager-port", str(port)], tmp_path / "data", cwd=tmp_path)
    up.wait_for("caruso is up")
    assert len(processes_of(up.data)) == 3
    up.process.kill()
    assert up.process.wait(30) == -signal.SIGKILL
    assert_all_gone(up, port)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CARUSO_DATA", raising=False)
    assert (tmp_path / "data" / RUNNING_MANAGER_FILE).exists() and manager_uri_here() is None   # a dead up's note


def test_a_lifeline_that_is_no_pipe_is_refused_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "caruso_core", "serve", "--lifeline", "987",
                           "sample_services:Counter"], env=dict(os.environ, CARUSO_DATA=str(tmp_path)),
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, "error: --lifeline 987 is not an open pipe\n")


@pytest.mark.parametrize("signum, target", TARGETS)
def test_the_demo_serving_stops_everything_it_started(tmp_path, signum, target):
    manager_port, web_port = free_port(), free_port(span=2)
    demo = Command(["demo", "--serve", "--dir", str(tmp_path / "demo"), "--customers", "10", "--calls", "2",
                    "--chats", "0", "--mails", "0", "--manager-port", str(manager_port),
                    "--web-port", str(web_port)], tmp_path / "demo" / "data")
    demo.wait_for("serving; Ctrl-C stops it", limit=180)
    assert demo.stop(signum, target) == 0
    assert demo.lines[-1].endswith("done")
    assert_all_gone(demo, manager_port, web_port, web_port + 1)
