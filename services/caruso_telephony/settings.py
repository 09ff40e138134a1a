"""The telephony component's configuration, checked when the service is made.

Contract: :func:`settings` turns the service's keyword configuration into
:class:`TelephonySettings` or raises ConfigError naming the setting. docs/telephony.md
("Configuration") lists every key; the defaults bind 127.0.0.1 only.
"""
from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import attrs

from caruso_core.deployment import data_dir, default_sqlite_url
from caruso_core.errors import ConfigError
from caruso_telephony.sip.message import Limits
from caruso_telephony.sip.trunk import Trunk
from caruso_telephony.switchboard import Policy

MEDIA_KEYS = {"rtpengine", "rtp_ports", "rtp_timeout", "silent_timeout", "ng_port", "address"}
REGISTRATION_KEYS = {"default_expires", "min_expires", "max_expires", "contacts", "failures", "window"}
BROWSER_KEYS = {"page_timeout", "media_timeout"}


@attrs.frozen(kw_only=True)
class TelephonySettings:
    address: str
    udp_port: int
    tcp: bool
    handover_port: int
    trunk: Trunk
    policy: Policy
    realm: str
    db: str
    folder: Path
    registration: dict[str, Any]
    media: dict[str, Any]
    browser: dict[str, float]
    prompt_files: dict[str, Path]
    prompt_texts: tuple[str, ...]
    limits: Limits
    max_transactions: int
    drain_limit: float
    events: int

    def rtp_half(self, half: int) -> tuple[int, int]:
        """One half of the RTP port range: two instances side by side (a drain swap) must
        not share ports (rtpengine would bind a port another rtpengine holds)."""
        low, high = self.media.get("rtp_ports", (30000, 39999))
        middle = low + (high - low) // 2
        return (low, middle) if half == 0 else (middle + 1, high)


def _port(name: str, value: Any, zero: bool = True) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not (0 if zero else 1) <= value <= 65535:
        raise ConfigError(f"telephony setting {name} must be a port number, not {value!r}")
    return value


def _positive(name: str, value: Any) -> Any:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"telephony setting {name} must be a positive number, not {value!r}")
    return value


def _keys(name: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict) or not set(value) <= allowed:
        raise ConfigError(f"telephony setting {name} is a table of {', '.join(sorted(allowed))}")
    return dict(value)


def settings(*, address: str = "127.0.0.1", udp_port: int = 5060, tcp: bool = True, handover_port: int = 0,
             numbers: list[str] | tuple[str, ...] = (), trunk: dict[str, Any] | None = None, realm: str = "caruso",
             db: str | None = None, max_calls: int = 100, ring_limit: int = 120, hold_on_agent_hangup: bool = False,
             record_silence: int = 5, registration: dict[str, Any] | None = None, media: dict[str, Any] | None = None,
             prompts: dict[str, Any] | None = None, max_message: int = 16384, max_transactions: int = 2000,
             drain_limit: float = 3600, events: int = 10000, browser: dict[str, Any] | None = None
             ) -> TelephonySettings:
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise ConfigError(f"telephony setting address must be an IPv4 address, not {address!r}") from None
    if address == "0.0.0.0":
        raise ConfigError("telephony setting address must be one interface's address (it appears in Via and Contact)")
    prompts = _keys("prompts", prompts or {}, {"files", "texts"})
    files = prompts.get("files", {})
    texts = prompts.get("texts", [])
    if not isinstance(files, dict) or not isinstance(texts, (list, tuple)):
        raise ConfigError("telephony setting prompts.files is a table of names to WAV files, prompts.texts a list")
    try:
        trunk_settings = Trunk(numbers=numbers, **(trunk or {}))
        policy = Policy(max_calls=_positive("max_calls", max_calls), ring_limit=_positive("ring_limit", ring_limit),
                        hold_on_agent_hangup=bool(hold_on_agent_hangup),
                        record_silence=_positive("record_silence", record_silence))
    except TypeError as error:
        raise ConfigError(f"telephony setting trunk: {error}") from None
    return TelephonySettings(
        address=address, udp_port=_port("udp_port", udp_port), tcp=bool(tcp),
        handover_port=_port("handover_port", handover_port), trunk=trunk_settings, policy=policy, realm=str(realm),
        db=db or default_sqlite_url("telephony.db"), folder=data_dir() / "telephony",
        registration=_keys("registration", registration or {}, REGISTRATION_KEYS),
        media=_keys("media", media or {}, MEDIA_KEYS),
        browser={key: _positive(f"browser.{key}", value)
                 for key, value in _keys("browser", browser or {}, BROWSER_KEYS).items()},
        prompt_files={str(name): Path(path) for name, path in files.items()},
        prompt_texts=tuple(str(text) for text in texts),
        limits=Limits(message_bytes=_positive("max_message", max_message)),
        max_transactions=_positive("max_transactions", max_transactions),
        drain_limit=_positive("drain_limit", drain_limit), events=_positive("events", events))
