"""A call centre on real telephony for tests: the script engine with the test hotline, the
communication server with its voice channel and IVR menu for number 100, telephony; agents
signed in with SIPp phones; a voice channel made to bridge late."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from caruso_comm.channels.voice import VoiceChannel
from caruso_core.testing import eventually
from sip_peers import SIPP_TIMEOUT, Sipp, rtp_range
from telephony_hosts import Telephony, host_telephony

SCRIPTS = Path(__file__).parent.parent / "comm" / "scripts"
QUEUES = [{"name": "power"}, {"name": "general", "skills": {"night_shift": 1}}]   # general: nobody's queue
MENU = {"script": "hotline", "numbers": ["100"], "default": "general",
        "routes": {"power": "power", "hours": "self_service", "message": "voicemail:general"}}


def start_centre(caruso_host, caruso_client, folder: Path, menu: dict[str, Any] = MENU,
                 voice: dict[str, Any] | None = None, rtp_ports: int = 1024) -> tuple[Telephony, Any, dict[str, Any]]:
    """Scripts, the communication server (its voice channel configured by ``voice``),
    telephony with ``rtp_ports`` RTP ports (it uses half: 256 were too few for 50 calls
    offered to agents); nobody signed in. Returns telephony, the comm client and comm's config."""
    caruso_host("scripts", config={"scripts": [str(SCRIPTS)], "db": f"sqlite:///{folder / 'scripts.db'}"})
    telephony = host_telephony(caruso_host, caruso_client, numbers=["100"], media={"rtp_ports": rtp_range(rtp_ports)})
    config = {"db": f"sqlite:///{folder / 'comm.db'}", "queues": QUEUES, "ivr": [menu],
              "channels": {"voice": {"position_every": 0, **(voice or {})}}}
    caruso_host("comm", config=config)
    eventually(lambda: reading(caruso_client), what="the voice channel reading telephony's events")
    return telephony, caruso_client.get("caruso.comm/1"), config


def reading(client) -> bool:
    """Whether someone (the voice channel) waits for telephony's events: calls placed before
    would be older than the channel's first read, and the channel hangs up calls it did not
    see come in."""
    return any(entry["name"] == "telephony" and entry["health"].get("events_waiting", 0) > 0
               for entry in client.health())


def sign_in(telephony, comm, folder: Path, agents: int, contact_port: int) -> None:
    """Agents 1 to ``agents`` signed in, their phones registered at ``contact_port`` (one
    SIPp answers for all)."""
    for number in range(1, agents + 1):
        telephony.service.set_phone(f"agent-{number}", f"phone{number}", f"secret{number}")
        phone = Sipp("phone_register.xml", folder, telephony.target, auth=(f"phone{number}", f"secret{number}"),
                     keys={"user": f"phone{number}", "contact_port": contact_port, "expires": 300})
        assert phone.run() == 0, phone.log()
        comm.login(f"agent-{number}", {}, {"voice": 1})


def bridges_late(monkeypatch) -> threading.Event:
    """Make the communication server of this process bridge an answered leg only once the
    returned event is set (at most ``SIPP_TIMEOUT`` seconds later)."""
    release = threading.Event()
    bridging = VoiceChannel._on_leg_answered

    def bridging_late(channel, *args):
        release.wait(SIPP_TIMEOUT)
        bridging(channel, *args)
    monkeypatch.setattr(VoiceChannel, "_on_leg_answered", bridging_late)
    return release
