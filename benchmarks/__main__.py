"""Run benchmarks: ``python -m benchmarks`` runs all, ``python -m benchmarks NAME ...`` some.

Each benchmark is a module ``benchmarks/NAME.py`` with ``run() -> dict``: it prints its
figures as it goes (each against a reference measured in the same run) and returns
them. The last line printed here is one JSON object: ``{"NAME": {...}, ...}``.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    """The benchmarks' names: their modules' names, ``_`` written ``-`` (``desk_phone``: ``desk-phone``)."""
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"error: no benchmark named {', '.join(unknown)}; available: {', '.join(available())}",
              file=sys.stderr)
        return 2
    results = {}
    for name in names:
        print(f"== {name}", flush=True)
        results[name] = importlib.import_module(f"benchmarks.{name.replace('-', '_')}").run()
    print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
