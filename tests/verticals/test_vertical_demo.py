"""caruso demo runs the utility solution end to end and loses nothing across its hot-swap."""
import contextlib
import os
import re
import socket
import sqlite3
import subprocess
import sys


def test_the_demo_morning_handles_everything_and_swaps_the_script_engine(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("CARUSO_MANAGER", "CARUSO_DATA")}
    result = subprocess.run([sys.executable, "-m", "caruso_core", "demo", "--customers", "200", "--calls", "16",
                             "--chats", "2", "--mails", "2", "--dir", str(tmp_path / "demo")],
                            capture_output=True, text=True, timeout=300, env=env)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "utility solution up: comm, frontoffice, monitor, reports, scripts, storage" in out
    assert re.search(r"script engine hot-swapped mid-morning: scripts-\d+ -> scripts-\d+", out)
    assert re.search(r"16/16 calls answered, 16 completed, 2/2 chats, 2/2 e-mails answered", out), out
    report = out[out.index("Incoming calls"):]
    offered = sum(int(line.split()[3]) for line in report.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d ", line))
    assert offered == 16 + 2 + 2                       # every call, chat and e-mail is in the event log
    with contextlib.closing(sqlite3.connect(tmp_path / "demo" / "data" / "storage.db")) as storage:
        [[filed]] = storage.execute("select count(*) from caruso_contact_history where summary like 'completed in %'")
    assert filed == 16 + 2                             # and in its customer's history (the chats' visitors are unknown)
    assert "lost:" not in result.stderr
    assert "Traceback" not in (tmp_path / "demo" / "caruso.log").read_text()
    assert out.rstrip().endswith("done")               # --dir keeps the folder: no hint to run it again


def test_a_demo_that_cannot_start_says_why_at_once_and_in_one_error_line(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("CARUSO_MANAGER", "CARUSO_DATA")}
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "caruso_core", "demo", "--manager-port", str(port)],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: the solution did not start: manager did not start (error: cannot listen at "
                      f"127.0.0.1:{port} (Address already in use); is a manager already running there?)"]
    assert f"[manager] error: cannot listen at 127.0.0.1:{port}" in result.stderr     # the log's tail


def test_a_demo_in_a_folder_a_caruso_up_holds_is_refused_before_it_starts(tmp_path, monkeypatch):
    from caruso_core.deployment import hold_folder

    monkeypatch.setenv("CARUSO_DATA", str(tmp_path / "demo" / "data"))
    held = hold_folder()                                          # as a caruso up running there
    try:
        env = {key: value for key, value in os.environ.items() if key not in ("CARUSO_MANAGER", "CARUSO_DATA")}
        result = subprocess.run([sys.executable, "-m", "caruso_core", "demo", "--dir", str(tmp_path / "demo")],
                                capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    finally:
        os.close(held)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (f"error: a caruso up runs in this folder already (pid {os.getpid()}): "
                                              "stop it first, or give this one a data folder of its own (CARUSO_DATA)")
