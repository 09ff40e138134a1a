"""Colour thresholds of the wallboard: when a queue's figures need attention.

Configured per queue, with ``"*"`` for every queue (the monitor's ``thresholds``)::

    thresholds = { "*" = { waiting = [3, 10] },
                   outages = { waiting = [1, 4], longest_wait = [15, 45], service_level = [0.9, 0.8] } }

Each figure has two bounds, ``[warn, alert]``: ``waiting`` (interactions) and
``longest_wait`` (seconds) need attention at or above them, ``service_level`` (a ratio)
at or below them. A figure a queue does not configure takes the ``"*"`` one, else the
default: waiting 3 and 10, longest wait the queue's service-level target and twice it,
service level 0.8 and 0.6. :meth:`Thresholds.levels` judges one queue of the picture:
``ok``, ``warn`` or ``alert`` per figure (``ok`` for a service level not measured yet).
"""
from __future__ import annotations

from typing import Any, Mapping

from caruso_core.errors import ConfigError

FIGURES = ("waiting", "longest_wait", "service_level")
EVERY_QUEUE = "*"
DEFAULT_WAITING = (3.0, 10.0)
DEFAULT_SERVICE_LEVEL = (0.8, 0.6)


class Thresholds:
    """Checked thresholds; a bad configuration is a ConfigError naming the queue and figure."""

    def __init__(self, configured: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._bounds: dict[str, dict[str, tuple[float, float]]] = {}
        if not isinstance(configured or {}, Mapping):
            raise ConfigError("monitor thresholds: a table of queues, e.g. { outages = { waiting = [1, 4] } }")
        for queue, figures in (configured or {}).items():
            if not isinstance(figures, Mapping):
                raise ConfigError(f"monitor thresholds.{queue}: a table of figures ({', '.join(FIGURES)})")
            self._bounds[str(queue)] = {figure: _bounds(queue, figure, bounds) for figure, bounds in figures.items()}

    def bounds(self, queue: str, figure: str, sl_target: float) -> tuple[float, float]:
        """``[warn, alert]`` of ``figure`` for ``queue``."""
        for source in (queue, EVERY_QUEUE):
            if figure in self._bounds.get(source, {}):
                return self._bounds[source][figure]
        return {"waiting": DEFAULT_WAITING, "longest_wait": (sl_target, 2 * sl_target),
                "service_level": DEFAULT_SERVICE_LEVEL}[figure]

    def levels(self, queue: Mapping[str, Any]) -> dict[str, str]:
        """``ok``, ``warn`` or ``alert`` for each figure of one queue of the picture."""
        levels = {}
        for figure in FIGURES:
            warn, alert = self.bounds(queue["queue"], figure, queue["sl_target"])
            value = queue[figure]
            if value is None:
                levels[figure] = "ok"
            elif figure == "service_level":
                levels[figure] = "alert" if value <= alert else "warn" if value <= warn else "ok"
            else:
                levels[figure] = "alert" if value >= alert else "warn" if value >= warn else "ok"
        return levels


def _bounds(queue: str, figure: str, bounds: Any) -> tuple[float, float]:
    where = f"monitor thresholds.{queue}.{figure}"
    if figure not in FIGURES:
        raise ConfigError(f"{where}: no such figure (figures: {', '.join(FIGURES)})")
    if not (isinstance(bounds, (list, tuple)) and len(bounds) == 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) and b >= 0 for b in bounds)):
        raise ConfigError(f"{where}: give [warn, alert], two numbers >= 0, e.g. [3, 10]")
    warn, alert = float(bounds[0]), float(bounds[1])
    if figure == "service_level" and not (1 >= warn >= alert):
        raise ConfigError(f"{where}: a service level warns at or below warn and alerts at or below alert: "
                          "1 >= warn >= alert")
    if figure != "service_level" and warn > alert:
        raise ConfigError(f"{where}: warn comes before alert: warn <= alert")
    return warn, alert
