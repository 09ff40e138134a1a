"""The catalogue of measures a report definition may name.

A measure is computed from *tallies*: interaction tallies are sums and counts the
database aggregates over events (:mod:`caruso_reports.tallies`); agent tallies are
seconds per agent state (:mod:`caruso_reports.agenttime`). Counting rules follow
docs/communication.md; docs/report-format.md lists every measure. Reports over business
objects (:mod:`caruso_reports.objects`) name theirs by pattern: :data:`OBJECT_MEASURE`.
"""
from __future__ import annotations

import re
from typing import Callable, Mapping

import attrs

from caruso_core.errors import ConfigError

Tallies = Mapping[str, float]
INTERACTIONS = "interactions"
AGENTS = "agents"


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@attrs.frozen
class Measure:
    """A named figure: ``unit`` is ``count``, ``seconds`` or ``ratio``; ``source`` says
    whether it comes from interaction events or agent times; ``tallies`` are what
    ``value`` reads."""

    name: str
    unit: str
    source: str
    tallies: tuple[str, ...]
    value: Callable[[Tallies], float | int | None]
    description: str


def _count(name: str, tally: str, description: str) -> Measure:
    return Measure(name, "count", INTERACTIONS, (tally,), lambda t: int(t[tally]), description)


def _agent_seconds(name: str, description: str) -> Measure:
    return Measure(name, "seconds", AGENTS, (name,), lambda t: t[name], description)


CATALOGUE: dict[str, Measure] = {m.name: m for m in (
    _count("offered", "new", "interactions entering their first queue"),
    _count("answered", "answered", "interactions connected to an agent (first connect)"),
    _count("abandoned", "abandoned", "interactions that ended unanswered: callers hanging up "
                                      "and full queues without overflow (not those a restart ended)"),
    _count("short_abandoned", "short_abandoned",
           "abandoned after waiting less than the short-abandon threshold"),
    _count("transferred", "transferred", "transfers by agents"),
    _count("overflowed", "overflowed", "overflows to voicemail or another queue"),
    _count("voicemails", "voicemails", "interactions ending in voicemail"),
    _count("messages", "messages", "voicemail messages left (from a queue's overflow or the IVR)"),
    _count("dialed", "dialed", "outbound calls dialled by campaigns"),
    _count("dial_answered", "dial_answered", "dialled calls the called party answered"),
    _count("completed", "completed", "interactions completed by an agent"),
    _count("converted", "converted", "completed with a disposition the definition's conversions name"),
    Measure("conversion", "ratio", INTERACTIONS, ("converted", "answered"),
            lambda t: _ratio(t["converted"], t["answered"]), "converted / answered"),
    _count("answered_in_target", "within", "answered within the service-level target"),
    Measure("service_level", "ratio", INTERACTIONS, ("within", "new", "short_abandoned"),
            lambda t: _ratio(t["within"], t["new"] - t["short_abandoned"]),
            "answered within target / (offered - short abandons)"),
    Measure("service_level_answered", "ratio", INTERACTIONS, ("within", "answered"),
            lambda t: _ratio(t["within"], t["answered"]), "answered within target / answered"),
    Measure("asa", "seconds", INTERACTIONS, ("wait", "answered"),
            lambda t: _ratio(t["wait"], t["answered"]), "average speed of answer: mean first wait"),
    Measure("aht", "seconds", INTERACTIONS, ("talk", "wrap", "completed"),
            lambda t: _ratio(t["talk"] + t["wrap"], t["completed"]),
            "average handling time: (talk + wrap-up) / completed"),
    Measure("avg_talk", "seconds", INTERACTIONS, ("talk", "connections"),
            lambda t: _ratio(t["talk"], t["connections"]),
            "average time connected per connection (completed or transferred)"),
    Measure("talk_time", "seconds", INTERACTIONS, ("talk",), lambda t: t["talk"],
            "total time connected"),
    Measure("longest_wait", "seconds", INTERACTIONS, ("longest_wait",),
            lambda t: t["longest_wait"], "longest wait before a connect or an abandon"),
    _agent_seconds("logged_in", "time logged in: available + ringing + busy + wrap_up + break"),
    _agent_seconds("available", "time available and idle"),
    _agent_seconds("ringing", "time with an offer and no connected interaction"),
    _agent_seconds("busy", "time connected to an interaction"),
    _agent_seconds("wrap_up", "time in wrap-up"),
    _agent_seconds("break", "time on break and idle"),
    Measure("occupancy", "ratio", AGENTS, ("ringing", "busy", "wrap_up", "available"),
            lambda t: _ratio(t["ringing"] + t["busy"] + t["wrap_up"],
                             t["available"] + t["ringing"] + t["busy"] + t["wrap_up"]),
            "time with an interaction / time available or with an interaction"),
)}

OBJECT_MEASURE = re.compile(r"^(?:(?P<plain>count)|(?P<aggregate>sum|avg)\.(?P<of>\w{1,64})"
                            r"|(?P<matching>count|share)\.(?P<field>\w{1,64})=(?P<value>.{1,60}))$")
OBJECT_UNITS = {"count": "count", "sum": "amount", "avg": "amount", "share": "ratio"}


def unit(measure: str) -> str:
    """``count``, ``seconds``, ``ratio`` or (of a business object's number) ``amount``;
    ConfigError for a name that is no measure."""
    if measure in CATALOGUE:
        return CATALOGUE[measure].unit
    found = OBJECT_MEASURE.match(measure)
    if found is None:
        raise ConfigError(f"unknown measure {measure!r}")
    return OBJECT_UNITS[found["plain"] or found["aggregate"] or found["matching"]]


DIMENSIONS = ("period", "queue", "agent", "channel", "direction", "campaign")
AGENT_DIMENSIONS = ("period", "agent")
