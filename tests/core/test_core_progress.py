"""Long work shows its progress on a terminal and stays quiet in a pipe; the monitor
draws with terminal codes only on a terminal."""
import os
import pty
import select
import subprocess
import sys

SIMULATE = ["simulate", "--agents", "3", "--calls-per-hour", "60", "--aht", "120", "--hours", "2"]


def run_on_a_terminal(arguments, timeout=60):
    """Run ``caruso ARGUMENTS`` with a pseudo-terminal as standard output and error: all it wrote."""
    leader, follower = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "caruso_core", *arguments], stdout=follower,
                             stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    written = b""
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            child.kill()
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:                     # the child closed its end
            break
        if not chunk:
            break
        written += chunk
    child.wait(timeout)
    os.close(leader)
    return written.decode()


def test_a_simulation_says_how_long_it_took_on_a_terminal_and_nothing_in_a_pipe(tmp_path):
    on_terminal = run_on_a_terminal(SIMULATE)
    assert "simulating 2 h of 60 calls an hour…" in on_terminal and " s\r\n" in on_terminal
    piped = subprocess.run([sys.executable, "-m", "caruso_core", *SIMULATE], capture_output=True, text=True,
                           timeout=60)
    assert piped.returncode == 0 and "simulating" not in piped.stdout + piped.stderr


def test_the_monitor_piped_prints_frames_without_terminal_codes(tmp_path):
    url = f"sqlite:///{tmp_path / 'events.db'}"
    assert subprocess.run([sys.executable, "-m", "caruso_core", *SIMULATE, "--db", url], capture_output=True,
                          timeout=60).returncode == 0
    monitor = subprocess.Popen([sys.executable, "-m", "caruso_core", "monitor", "--db", url, "--interval", "0.1"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    frames = 0
    output = b""
    while frames < 2:
        line = monitor.stdout.readline()
        assert line, output.decode()
        output += line
        frames += line.startswith(b"caruso monitor")
    monitor.kill()
    monitor.wait(30)
    assert b"\x1b" not in output and b"agents: logged_in" in output
