"""Checking a script's references to business-object fields against the storage model.

Contract of :func:`field_problems`: for every expression path that starts with a
binding (``customer.city``), the field after the binding must be an attribute of the
bound object as ``describe(object)`` of ``caruso.storage/1`` reports it; returns
``FILE:LINE: message`` lines (empty: every reference is known), sub-scripts included.
"""
from __future__ import annotations

from typing import Any, Callable

from caruso_core.errors import CarusoError
from caruso_scripts.model import Script, SubScript


def field_problems(script: Script, describe: Callable[[str], dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    attributes: dict[str, set[str] | None] = {}
    bound = {b.name: b for b in script.bindings}
    for binding in script.bindings:
        try:
            known = attributes[binding.name] = set(describe(binding.object).get("attributes", {}))
        except CarusoError as error:
            problems.append(f"{script.source}:{binding.line}: binding '{binding.name}': "
                            f"object '{binding.object}' is not in the model ({error.message})")
            attributes[binding.name] = None
            continue
        for field in (binding.field, (binding.order or "").lstrip("-") or None):
            if field is not None and field not in known:
                problems.append(f"{script.source}:{binding.line}: binding '{binding.name}': "
                                f"{binding.object} has no attribute '{field}'")
    for expression, line in script.expressions():
        for path, column in expression.paths():
            known = attributes.get(path[0])
            if known is not None and path[1] not in known:
                problems.append(f"{script.source}:{line}: '{'.'.join(path)}': {bound[path[0]].object} has no "
                                f"attribute '{path[1]}' (column {column}; attributes: {', '.join(sorted(known))})")
    for step in script.steps.values():
        if isinstance(step, SubScript):
            problems += field_problems(step.script, describe)
    return problems
