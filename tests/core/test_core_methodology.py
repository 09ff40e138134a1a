"""docs/methodology.md, followed as written: every command of its ``sh`` blocks, in order,
in a fresh folder, as an integrator types them (each through bash, in the folder the
commands before it left). The only additions are what a shared test machine needs: free
ports for ``caruso init`` (the documented defaults may be taken by other tests), the two
input files step 3 names, and Ctrl-C for the commands that run until stopped."""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

from caruso_core.testing.processes import free_port
from caruso_core.testing.waiting import eventually

DOC = Path(__file__).parents[2] / "docs" / "methodology.md"
RUN_UNTIL_STOPPED = {"caruso up": "caruso is up", "caruso watch": "watching",   # ... and what says it runs
                     "caruso monitor": "outages"}
ANSWERS = ":quit\n"                     # what 'caruso script run' reads


def commands(text: str) -> list[str]:
    """The command lines of the document's ``sh`` blocks, in order, comments kept."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        lines += [line for line in block.splitlines() if line.strip()]
    return lines


class Background:
    """A command that runs until stopped, its output collected line by line."""

    def __init__(self, line: str, cwd: Path, env: dict[str, str]) -> None:
        self.line, self.lines = line, []
        env = {**env, "PYTHONFAULTHANDLER": "1"}       # SIGABRT prints every thread's stack
        self.process = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def interrupt(self) -> int:
        """Ctrl-C; the exit code. A command still running 90 s later fails the test with its
        output, which then ends with the stacks of its threads."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=30)
            self._reader.join(timeout=10)
            raise AssertionError(f"{self.line} did not stop on Ctrl-C:\n" + "\n".join(self.lines)) from None
        self._reader.join(timeout=10)
        return code


def legacy_billing(folder: Path) -> None:
    """Step 3's legacy database: a billing table as another program keeps it."""
    folder.mkdir()
    with sqlite3.connect(folder / "billing.db") as connection:
        connection.execute("CREATE TABLE OPEN_ITEMS (ITEM_NO CHAR(10) PRIMARY KEY, CUST_NO CHAR(10) NOT NULL, "
                           "AMOUNT_CENTS INTEGER NOT NULL, PAID CHAR(1) NOT NULL)")
        connection.execute("INSERT INTO OPEN_ITEMS VALUES ('I000000001', 'C000000042', 12550, 'N')")


def test_the_methodology_runs_as_written_in_a_fresh_folder(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARUSO_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    manager_port, web_port = free_port(), free_port(span=2)
    cwd, running, outputs = tmp_path, [], {}
    try:
        for line in commands(DOC.read_text(encoding="utf-8")):
            command = line.split("#")[0].strip() if not line.lstrip().startswith("caruso script new") else line
            change = re.match(r"cd (\S+) && (.*)", command)
            if change:
                cwd, command = cwd / change.group(1), change.group(2)
            if command.startswith("caruso init "):
                command += f" --manager-port {manager_port} --web-port {web_port}"
            if command.startswith("caruso model inspect"):
                legacy_billing(cwd / "legacy")
            if command.startswith("caruso data import"):
                (cwd / "customers.csv").write_text("name,customer_no,city,email\n"
                                                   "Jansen Installaties,M900000001,Utrecht,info@jansen.example\n"
                                                   "Bakker,M900000002,Zwolle,\n")
            if command in RUN_UNTIL_STOPPED:
                job = Background(command, cwd, env)
                eventually(lambda: job.saw(RUN_UNTIL_STOPPED[command]) or job.process.poll() is not None, limit=180,
                           what=f"{command} ready")
                assert job.process.poll() is None, f"{command} ended: " + "\n".join(job.lines)
                if command == "caruso up":
                    running.append(job)
                else:
                    assert job.interrupt() in (0, 130), "\n".join(job.lines)
                    outputs[command] = job.lines
                continue
            done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, text=True, capture_output=True,
                                  input=ANSWERS if command.startswith("caruso script run") else None,
                                  timeout=300)
            assert done.returncode == 0, f"{command} (in {cwd}) failed:\n{done.stdout}\n{done.stderr}"
            outputs[command] = done.stdout
    finally:
        for job in running:
            job.interrupt()
    project = tmp_path / "acme-energy"
    assert (project / "model.xml").is_file() and (project / "scripts" / "moving-house.xml").is_file()
    storage = tomllib.loads((project / "caruso.toml").read_text())["services"]["storage"]["config"]
    assert storage["model"] == ["model.xml"]                     # the project's own copy, by a relative path
    wallboard = outputs["caruso monitor --once"]
    assert all(queue in wallboard for queue in ("billing", "moving", "outages", "sales"))
    assert "500 Customer" in outputs["caruso data demo --customers 500"]
    assert "OPEN_ITEMS" in (project / "legacy.xml").read_text()
    assert "2 of 2 row(s) written" in outputs["caruso data import --model model.xml Customer customers.csv"]
    assert (project / "my_script.xml").is_file() and (project / "moving-house.svg").read_text().startswith("<?xml")
    assert (project / "november.html").is_file()
    assert "Hello" in next(out for command, out in outputs.items() if command.startswith("caruso script run"))
    assert running[0].saw("caruso is down")
