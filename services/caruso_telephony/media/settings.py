"""The media layer's settings: which rtpengine, where it listens, its timeouts, its folders.

Contract: :class:`MediaSettings` is immutable and checked when made (ConfigError naming
the setting). Port 0 means a free port chosen at start, so that two telephony instances
(a hot-swap) run side by side; their RTP ranges may overlap, rtpengine skips ports in
use. ``recordings`` and ``prompts`` are folders the media layer creates (0700) as needed.
"""
from __future__ import annotations

import ipaddress
from pathlib import Path

import attrs

from caruso_core.errors import ConfigError


def _positive(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"media setting {attribute.name} must be positive, not {value!r}")


def _not_negative(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if value < 0:
        raise ConfigError(f"media setting {attribute.name} must not be negative, not {value!r}")


def _port(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if not 0 <= value <= 65535:
        raise ConfigError(f"media setting {attribute.name} must be a UDP port (0 for a free one), not {value!r}")


def _rtp_ports(instance: object, attribute: attrs.Attribute, value: tuple[int, int]) -> None:
    low, high = value
    if not 1024 <= low < high <= 65535 or high - low < 3:
        raise ConfigError(f"media setting rtp_ports must be a range of at least 4 ports within 1024-65535, "
                          f"not {low}-{high}")


def _address(instance: object, attribute: attrs.Attribute, value: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ConfigError(f"media setting address must be an IPv4 address, not {value!r}") from None


@attrs.frozen(kw_only=True)
class MediaSettings:
    """``rtpengine``: the daemon's binary (a name on PATH or a path); ``ng_port``: its
    control port on 127.0.0.1; ``rtp_ports``: the range its media ports come from;
    ``address``: the address of the interface it relays media on (in SDP it sends);
    ``rtp_timeout``: seconds without media before a call ends (``on_timeout``);
    ``silent_timeout``: the same for a call whose media is on hold; ``offer_timeout``:
    seconds an offer may wait for its answer (longer than any ringing);
    ``recordings``: where recordings' WAV files go; ``prompts``: the prompts' cache;
    ``ng_timeout`` and ``ng_retries``: how long one ng request waits for its reply and how
    often it is sent again; ``start_timeout``: how long rtpengine may take to answer its
    first ping."""

    recordings: Path = attrs.field(converter=Path)
    prompts: Path = attrs.field(converter=Path)
    rtpengine: str = "rtpengine"
    ng_port: int = attrs.field(default=0, validator=_port)
    rtp_ports: tuple[int, int] = attrs.field(default=(30000, 39999), converter=tuple, validator=_rtp_ports)
    address: str = attrs.field(default="127.0.0.1", validator=_address)
    rtp_timeout: int = attrs.field(default=60, validator=_positive)
    silent_timeout: int = attrs.field(default=3600, validator=_positive)
    offer_timeout: int = attrs.field(default=120, validator=_positive)
    ng_timeout: float = attrs.field(default=0.5, validator=_positive)
    ng_retries: int = attrs.field(default=2, validator=_not_negative)
    start_timeout: float = attrs.field(default=10.0, validator=_positive)
