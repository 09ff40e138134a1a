"""The media layer's rtpengine: start, RTP timeouts, a crash and its restart, stop, two side by side."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from caruso_core.errors import ConfigError, NotFound
from caruso_core.testing import eventually
from caruso_telephony.media.engine import stop_orphans
from media_instances import bridged_call, free_rtp_range, ivr_call, running_media
from rtp_peers import tone


def rtpengine_runs(pid: int) -> bool:
    try:
        return b"rtpengine" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def stopped(pid: int) -> bool:
    """Whether the kernel has stopped ``pid`` (a signal sent is not yet a signal taken)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def test_an_rtp_timeout_reaches_on_timeout(tmp_path):
    with running_media(tmp_path, rtp_timeout=3) as media:
        with bridged_call(media, "silent") as (caller, agent):
            caller.send_audio(tone(0.2, 440))
            agent.wait_for(10)
            media.reports.timed_out("silent")     # nobody sends: rtpengine ends the call after 3 s
            with pytest.raises(NotFound):
                media.stats("silent")


def test_a_dead_rtpengine_is_restarted_by_health_and_its_calls_reported_lost(tmp_path):
    with running_media(tmp_path) as media:
        before = media.health()
        assert before["status"] == "ok"
        with ivr_call(media, "doomed"):
            os.kill(before["rtpengine_pid"], signal.SIGKILL)
            eventually(lambda: not rtpengine_runs(before["rtpengine_pid"]), what="rtpengine dead")
            after = media.health()
            assert after["restarted"] and after["lost_calls"] == ["doomed"]
            assert after["rtpengine_pid"] != before["rtpengine_pid"]
            media.reports.timed_out("doomed")
        assert media.health()["status"] == "ok"
        with bridged_call(media, "after-restart") as (caller, agent):
            caller.send_audio(tone(0.2, 440))
            agent.wait_for(10)


def test_a_hung_rtpengine_is_replaced_by_health(tmp_path):
    with running_media(tmp_path, ng_timeout=0.2, ng_retries=1) as media:
        hung = media.health()["rtpengine_pid"]
        with ivr_call(media, "stuck"):
            os.kill(hung, signal.SIGSTOP)
            eventually(lambda: stopped(hung), what="rtpengine stopped")
            after = media.health()
            assert after["restarted"] and after["lost_calls"] == ["stuck"] and not rtpengine_runs(hung)
            media.reports.timed_out("stuck")


def test_stop_leaves_no_process_thread_or_port(tmp_path):
    with running_media(tmp_path) as media:
        ports = media.health()
        with bridged_call(media, "left-over") as (caller, _):
            caller.send_audio(tone(0.1, 440))
    assert not rtpengine_runs(ports["rtpengine_pid"])
    for kind, port in ((socket.SOCK_DGRAM, ports["ng_port"]), (socket.SOCK_DGRAM, ports["dtmf_port"]),
                       (socket.SOCK_STREAM, ports["teardown_port"])):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind(("127.0.0.1", port))
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith(("media-", "rtpengine-"))]
    assert [path.name for path in (tmp_path / "recordings").iterdir()] == []


def test_the_rtpengine_of_a_host_killed_outright_is_stopped_when_media_starts_again(tmp_path):
    host = subprocess.Popen([sys.executable, "-c", KILLED_HOST, str(tmp_path), *map(str, free_rtp_range())],
                            stdout=subprocess.PIPE, text=True)
    orphan = int(host.stdout.readline())
    host.kill()                                    # SIGKILL: no stop of its media layer
    host.wait()
    host.stdout.close()
    try:
        assert rtpengine_runs(orphan)              # in a session of its own, it outlived its host
        with running_media(tmp_path) as media:
            eventually(lambda: not rtpengine_runs(orphan), what=f"the orphaned rtpengine[{orphan}] stopped")
            assert media.health()["status"] == "ok"
            assert len(list((tmp_path / "recordings").iterdir())) == 1     # the orphan's spool is gone
    finally:
        if rtpengine_runs(orphan):
            os.killpg(orphan, signal.SIGKILL)


def test_only_a_readable_note_of_this_machine_about_a_gone_host_stops_anything(tmp_path):
    recordings = tmp_path / "recordings"
    gone = subprocess.Popen(["true"])
    gone.wait()
    bystander = subprocess.Popen(["sleep", "60"])           # names no spool: never stopped
    notes = {"garbage": "{not json", "foreign": {"machine": "elsewhere", "host": gone.pid, "rtpengine": bystander.pid},
             "alive": {"machine": socket.gethostname(), "host": os.getpid(), "rtpengine": bystander.pid},
             "gone": {"machine": socket.gethostname(), "host": gone.pid, "rtpengine": bystander.pid}}
    notes["oversized"] = json.dumps(notes["gone"]) + " " * 2048
    for name, note in notes.items():
        spool = recordings / f"rtpengine-spool-{name}"
        spool.mkdir(parents=True)
        (spool / "owner.json").write_text(note if isinstance(note, str) else json.dumps(note))
    (recordings / "rtpengine-spool-fifo").mkdir()
    os.mkfifo(recordings / "rtpengine-spool-fifo" / "owner.json")     # nobody writes it: a read would block
    try:
        stop_orphans(recordings, logging.getLogger("test"))
        assert bystander.poll() is None
        assert sorted(path.name for path in recordings.iterdir()) == [
            "rtpengine-spool-alive", "rtpengine-spool-fifo", "rtpengine-spool-foreign", "rtpengine-spool-garbage",
            "rtpengine-spool-oversized"]
    finally:
        bystander.kill()
        bystander.wait()


KILLED_HOST = """
import sys, threading
from pathlib import Path
from caruso_telephony.media import Media, MediaSettings
folder = Path(sys.argv[1])
media = Media(MediaSettings(recordings=folder / "recordings", prompts=folder / "prompts",
                            rtp_ports=(int(sys.argv[2]), int(sys.argv[3]))), lambda *a: None, lambda *a: None)
media.start()
print(media.health()["rtpengine_pid"], flush=True)
threading.Event().wait()
"""


def test_two_instances_run_side_by_side(tmp_path):
    with running_media(tmp_path / "old") as old, running_media(tmp_path / "new") as new:
        assert old.health()["ng_port"] != new.health()["ng_port"]
        with bridged_call(old, "same-call-id") as (old_caller, old_agent), \
                bridged_call(new, "same-call-id") as (new_caller, new_agent):
            old_caller.send_audio(tone(0.2, 440))
            new_caller.send_audio(tone(0.2, 440))
            assert len(old_agent.wait_for(10)) == len(new_agent.wait_for(10)) == 10


def test_start_fails_clearly_without_binary_address_or_port(tmp_path):
    with pytest.raises(ConfigError, match="rtpengine binary 'no-such-rtpengine' not found"):
        with running_media(tmp_path, rtpengine="no-such-rtpengine"):
            pass
    with pytest.raises(ConfigError, match="address 192.0.2.1"):
        with running_media(tmp_path, address="192.0.2.1"):
            pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"(?s)ng port 127.0.0.1:{port}.*Address already in use"):
            with running_media(tmp_path, ng_port=port):
                pass
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith(("media-", "rtpengine-"))]
    with pytest.raises(ConfigError, match="rtp_ports"):
        with running_media(tmp_path, rtp_ports=(40000, 40001)):
            pass
