"""The agent desktop's settings: the front office's ``desk`` configuration.

::

    [services.frontoffice.config.desk]
    scripts = { billing = "meter_reading" }        # queue -> dialog script shown to the agent
    skills = { billing = 1 }                       # skills every agent logs in with
    agent_skills = { ada = { billing = 3 } }       # an agent's own skills (replace ``skills``)
    capacity = { voice = 1, webchat = 2 }          # interactions per channel an agent holds
    dispositions = ["resolved", "follow-up"]       # offered when completing
    follow_up_dispositions = ["follow-up"]         # those that need a follow-up task (what is to be done)
    customer_view = "customer-360"                 # the screen pop's customer 360 view
    match = ["phone", "email"]                     # attributes compared with the caller's number or address
    phone_ice_limit = 4                            # seconds the desk phone's ICE may take after it answered
    file_every = 30                                # seconds between filings of notes left behind

Every key is optional; :func:`desk_settings` checks types and names the bad key.
"""
from __future__ import annotations

from typing import Any

import attrs

from caruso_core.errors import ConfigError

DEFAULT_CAPACITY = {"voice": 1, "webchat": 1, "email": 1}
DEFAULT_DISPOSITIONS = ("resolved", "follow-up", "no answer", "wrong number")
DEFAULT_MATCH = ("phone", "email")
MAX_ICE_LIMIT = 60
MAX_FILE_EVERY = 3600


@attrs.frozen
class DeskSettings:
    """What the desk needs to know beyond the communication server and the views."""

    scripts: dict[str, str] = attrs.field(factory=dict)
    skills: dict[str, int] = attrs.field(factory=dict)
    agent_skills: dict[str, dict[str, int]] = attrs.field(factory=dict)
    capacity: dict[str, int] = attrs.field(factory=lambda: dict(DEFAULT_CAPACITY))
    dispositions: tuple[str, ...] = DEFAULT_DISPOSITIONS
    follow_up_dispositions: tuple[str, ...] = ("follow-up",)
    customer_view: str | None = None
    match: tuple[str, ...] = DEFAULT_MATCH
    phone_ice_limit: float = 4.0
    file_every: float = 30.0

    def skills_of(self, agent: str) -> dict[str, int]:
        """The skills ``agent`` logs in to the communication server with."""
        return dict(self.agent_skills.get(agent, self.skills))

    def script_of(self, queue: str) -> str | None:
        """The dialog script of ``queue``, if it has one."""
        return self.scripts.get(queue)


def desk_settings(config: dict[str, Any] | None) -> DeskSettings:
    """:class:`DeskSettings` from the ``desk`` table; ConfigError naming a bad key."""
    config = dict(config or {})
    known = {field.name for field in attrs.fields(DeskSettings)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ConfigError(f"frontoffice desk: unknown key(s) {', '.join(unknown)} (keys: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    if "scripts" in config:
        values["scripts"] = _mapping(config["scripts"], "scripts", str)
    if "skills" in config:
        values["skills"] = _mapping(config["skills"], "skills", int)
    if "agent_skills" in config:
        values["agent_skills"] = {str(agent): _mapping(skills, f"agent_skills.{agent}", int)
                                  for agent, skills in _mapping(config["agent_skills"], "agent_skills", dict).items()}
    if "capacity" in config:
        values["capacity"] = _mapping(config["capacity"], "capacity", int)
    for key in ("dispositions", "follow_up_dispositions", "match"):
        if key in config:
            values[key] = _names(config[key], key)
    if "customer_view" in config:
        if not isinstance(config["customer_view"], str):
            raise ConfigError("frontoffice desk: customer_view must be the id of a customer360 view")
        values["customer_view"] = config["customer_view"]
    for key, most in (("phone_ice_limit", MAX_ICE_LIMIT), ("file_every", MAX_FILE_EVERY)):
        if key in config:
            values[key] = _seconds(config[key], key, most)
    return DeskSettings(**values)


def _seconds(value: Any, key: str, most: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= most:
        raise ConfigError(f"frontoffice desk: {key} must be a number of seconds, above 0 and at most {most}")
    return float(value)


def _mapping(value: Any, key: str, kind: type) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(v, kind) and not isinstance(v, bool)
                                              for v in value.values()):
        raise ConfigError(f"frontoffice desk: {key} must be a table of names to {kind.__name__} values")
    return {str(name): item for name, item in value.items()}


def _names(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"frontoffice desk: {key} must be a non-empty list of names")
    return tuple(v.strip() for v in value)
