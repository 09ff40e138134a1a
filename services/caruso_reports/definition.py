"""Report definitions: TOML files (docs/report-format.md), validated with the file and key
named in every error.

Built-in definitions live in this package's ``definitions`` folder; users add their own
as ``NAME.toml`` files in folders of their choice (``./reports`` by default).
"""
from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs

from caruso_core.errors import ConfigError
from caruso_core.zones import zone

from caruso_reports import customers, objects
from caruso_reports.measures import AGENT_DIMENSIONS, AGENTS, CATALOGUE, DIMENSIONS
from caruso_reports.periods import NAMES as PERIODS

BUILT_IN = Path(__file__).parent / "definitions"
USER_FOLDER = "reports"
KEYS = {"title", "description", "measures", "dimensions", "period", "timezone", "service_level_target",
        "short_abandon", "conversions", "object", "from", "to", "filters", "chart", "mail", "labels"}
MAX_LABEL = 60
MAIL_AT = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
CHART_KINDS = ("line", "bar")
MAX_SIZE = 64 * 1024
EACH_QUEUE = "queue"          # a service-level target: each queue's own sl_target


@attrs.frozen
class Definition:
    """A validated report definition. ``start``/``end`` are Unix seconds (end exclusive) or None;
    periods and dates are in the time zone ``timezone`` (an IANA name or ``UTC``). ``object``
    names the business object of a report over the storage (:mod:`caruso_reports.objects`);
    None for a report over the event log."""

    name: str
    title: str
    measures: tuple[str, ...]
    dimensions: tuple[str, ...] = ("period",)
    period: str = "day"
    timezone: str = "UTC"
    service_level_target: float | str = 20.0      # seconds, or EACH_QUEUE
    short_abandon: float = 0.0
    conversions: tuple[str, ...] = ("sale",)
    object: str | None = None
    start: float | None = None
    end: float | None = None
    filters: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    chart_kind: str = "line"
    chart_measures: tuple[str, ...] = ()
    description: str = ""
    mail_to: tuple[str, ...] = ()
    mail_at: str = "07:00"
    mail_format: str = "html"
    labels: dict[str, str] = attrs.field(factory=dict)

    def override(self, *, start: float | None = None, end: float | None = None,
                 period: str | None = None, timezone: str | None = None,
                 filters: Mapping[str, tuple[str, ...]] | None = None, where: str = "options") -> "Definition":
        """The definition with the given range, period, time zone and filters replacing its own; checked."""
        changed = attrs.evolve(
            self, start=self.start if start is None else start, end=self.end if end is None else end,
            period=period or self.period, timezone=timezone or self.timezone,
            filters={**self.filters, **(filters or {})})
        return check(changed, where)


def parse_time(value: Any, where: str, *, end: bool = False, timezone: str = "UTC") -> float:
    """Unix seconds of a TOML date/datetime or an ISO string (in ``timezone`` unless it says
    otherwise). A date alone as an ``end`` means the end of that day."""
    tz = zone(timezone, where)
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value) if len(value.strip()) == 10 else dt.datetime.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD) or date and time "
                              "(YYYY-MM-DDTHH:MM)") from None
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).timestamp()
    if isinstance(value, dt.date):
        day = value + dt.timedelta(days=1) if end else value
        return dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    raise ConfigError(f"{where}: {value!r} is not a date or a date and time")


def from_toml(text: str, name: str, source: str, timezone: str = "UTC") -> Definition:
    """A definition from TOML text; ``source`` (the file) names the place in errors;
    ``timezone`` is its time zone unless it names one."""
    if len(text) > MAX_SIZE:
        raise ConfigError(f"{source}: larger than {MAX_SIZE // 1024} KiB; is this a report definition?")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: {error}") from None
    return from_mapping(data, name, source, timezone)


def from_mapping(data: Mapping[str, Any], name: str, source: str, timezone: str = "UTC") -> Definition:
    """A definition from parsed TOML (plain data); errors name ``source`` and the key;
    ``timezone`` is its time zone unless it names one."""
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(KEYS))}")
    filters = _table(data.get("filters", {}), f"{source}: [filters]")
    chart = _section(data, "chart", ("kind", "measures"), source)
    mail = _section(data, "mail", ("to", "at", "format"), source)
    if "measures" not in data:
        raise ConfigError(f"{source}: 'measures' is missing: list what to compute, e.g. "
                          "measures = [\"offered\", \"answered\"]")
    measures = _names(data["measures"], f"{source}: measures")
    timezone = _text(data.get("timezone", timezone), f"{source}: timezone")
    zone(timezone, f"{source}: timezone")
    definition = Definition(
        name=name, title=_text(data.get("title", name), f"{source}: title"),
        description=_text(data.get("description", ""), f"{source}: description"),
        measures=measures,
        dimensions=_names(data.get("dimensions", ["period"]), f"{source}: dimensions", empty=True),
        period=_text(data.get("period", "day"), f"{source}: period"), timezone=timezone,
        service_level_target=_target(data.get("service_level_target", 20), f"{source}: service_level_target"),
        short_abandon=_seconds(data.get("short_abandon", 0), f"{source}: short_abandon"),
        conversions=_names(data.get("conversions", ["sale"]), f"{source}: conversions"),
        object=_text(data["object"], f"{source}: object") if "object" in data else None,
        start=parse_time(data["from"], f"{source}: from", timezone=timezone) if "from" in data else None,
        end=parse_time(data["to"], f"{source}: to", end=True, timezone=timezone) if "to" in data else None,
        filters={key: _names(value, f"{source}: filters.{key}") for key, value in filters.items()},
        chart_kind=_text(chart.get("kind", "line"), f"{source}: chart.kind"),
        chart_measures=_names(chart.get("measures", list(measures)), f"{source}: chart.measures", empty=True),
        mail_to=_names(mail["to"], f"{source}: mail.to") if "to" in mail else (),
        mail_at=_text(mail.get("at", "07:00"), f"{source}: mail.at"),
        mail_format=_text(mail.get("format", "html"), f"{source}: mail.format"),
        labels=_labels(data.get("labels", {}), source))
    return check(definition, source)


def _labels(value: Any, source: str) -> dict[str, str]:
    """``[labels]``: a heading (1 to ``MAX_LABEL`` characters) per measure or dimension."""
    labels = _table(value, f"{source}: [labels]")
    for key, text in labels.items():
        if not isinstance(text, str) or not 0 < len(text) <= MAX_LABEL:
            raise ConfigError(f"{source}: labels.{key} must be text of 1 to {MAX_LABEL} characters")
    return dict(labels)


def check(definition: Definition, where: str) -> Definition:
    """``definition`` if its names and range make sense, else a ConfigError naming ``where``."""
    if definition.object is None:
        _check_event_names(definition, where)
    else:
        objects.check_names(definition.dimensions, definition.measures, definition.filters, where)
    for chart_measure in definition.chart_measures:
        if chart_measure not in definition.measures:
            raise ConfigError(f"{where}: chart.measures names {chart_measure!r}, which is not in measures")
    for key in definition.labels:
        if key not in definition.measures and key not in definition.dimensions and (
                definition.object is not None or (key not in CATALOGUE and key not in DIMENSIONS)):
            raise ConfigError(f"{where}: labels.{key} names no measure or dimension")
    if len(set(definition.dimensions)) != len(definition.dimensions):
        raise ConfigError(f"{where}: dimensions repeat a name: {', '.join(definition.dimensions)}")
    if definition.period not in PERIODS:
        raise ConfigError(f"{where}: unknown period {definition.period!r}; periods: {', '.join(PERIODS)}")
    zone(definition.timezone, where)
    if not MAIL_AT.match(definition.mail_at):
        raise ConfigError(f"{where}: mail.at {definition.mail_at!r} is not a time of day HH:MM, e.g. \"07:00\"")
    for address in definition.mail_to:
        if "@" not in address or any(c.isspace() or c in ",;<>" for c in address):
            raise ConfigError(f"{where}: mail.to {address!r} is not an e-mail address")
    if definition.chart_kind not in CHART_KINDS:
        raise ConfigError(f"{where}: chart.kind {definition.chart_kind!r} is not line or bar")
    if definition.start is not None and definition.end is not None and definition.end <= definition.start:
        raise ConfigError(f"{where}: the date range is empty or inverted: 'to' "
                          f"({_show(definition.end, definition.timezone)}) must be after 'from' "
                          f"({_show(definition.start, definition.timezone)})")
    return definition


def _check_event_names(definition: Definition, where: str) -> None:
    """The measures, dimensions and filters of a report over the event log."""
    for measure in definition.measures:
        if measure not in CATALOGUE:
            raise ConfigError(f"{where}: unknown measure {measure!r}; known measures: "
                              f"{', '.join(CATALOGUE)}")
    for dimension in definition.dimensions:
        if dimension not in DIMENSIONS and customers.attribute(dimension) is None:
            raise ConfigError(f"{where}: unknown dimension {dimension!r}; known dimensions: "
                              f"{', '.join(DIMENSIONS)}, customer.ATTRIBUTE")
    for key in definition.filters:
        if key not in DIMENSIONS or key == "period":
            raise ConfigError(f"{where}: unknown filter {key!r}; filters: "
                              f"{', '.join(d for d in DIMENSIONS if d != 'period')}")
    if any(CATALOGUE[m].source == AGENTS for m in definition.measures):
        wrong = [d for d in (*definition.dimensions, *definition.filters) if d not in AGENT_DIMENSIONS]
        if wrong:
            raise ConfigError(f"{where}: agent times ({', '.join(m for m in definition.measures if CATALOGUE[m].source == AGENTS)}) "
                              f"are by period and agent only, not by {wrong[0]}: put them in their own report")


def catalogue(folders: Iterable[str | Path] = (USER_FOLDER,)) -> dict[str, Path]:
    """Definition files by name: the built-in ones, then those of each folder in turn (a
    later file replaces an earlier one of the same name)."""
    found = {path.stem: path for path in sorted(BUILT_IN.glob("*.toml"))}
    for folder in folders:
        found.update({path.stem: path for path in sorted(Path(folder).glob("*.toml"))})
    return found


def locate(name: str, folders: Iterable[str | Path] = (USER_FOLDER,)) -> Path:
    """The file of definition ``name``: a path to a ``.toml`` file, else the one of that name
    in :func:`catalogue`."""
    if Path(name).suffix == ".toml":
        return Path(name)
    known = catalogue(folders)
    if name not in known:
        raise ConfigError(f"no report definition {name!r}: known ones are "
                          f"{', '.join(sorted(known))}; or give a path to a .toml file")
    return known[name]


def read(path: Path) -> str:
    """The text of a definition file; a ConfigError naming it if it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the report definition: {error}") from None


def load(name: str, folders: Iterable[str | Path] = (USER_FOLDER,), timezone: str = "UTC") -> Definition:
    """The definition ``name`` found by :func:`locate`, validated (``timezone``: its time zone
    unless it names one)."""
    path = locate(name, folders)
    return from_toml(read(path), path.stem, str(path), timezone)


def _show(seconds: float, timezone: str) -> str:
    return dt.datetime.fromtimestamp(seconds, zone(timezone, "timezone")).strftime("%Y-%m-%d %H:%M")


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _section(data: Mapping[str, Any], key: str, known: tuple[str, ...], source: str) -> dict[str, Any]:
    table = _table(data.get(key, {}), f"{source}: [{key}]")
    extra = sorted(set(table) - set(known))
    if extra:
        raise ConfigError(f"{source}: [{key}] unknown key {extra[0]!r}; known keys: {', '.join(known)}")
    return table


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, not {value!r}")
    return value


def _target(value: Any, where: str) -> float | str:
    if value == EACH_QUEUE:
        return EACH_QUEUE
    if isinstance(value, str):
        raise ConfigError(f"{where} is a number of seconds or \"{EACH_QUEUE}\" (each queue's own), not {value!r}")
    return _seconds(value, where)


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{where} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _names(value: Any, where: str, empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} must be a list of names, e.g. [\"a\", \"b\"]")
    if not value and not empty:
        raise ConfigError(f"{where} is empty: name at least one")
    return tuple(value)
