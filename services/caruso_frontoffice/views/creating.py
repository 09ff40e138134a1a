"""Whether the create forms of a catalog can make a valid object.

The storage service refuses a new object without a value for each required attribute
that the database does not generate and the model gives no default; rules run after that
check, so no rule can supply such a value. A form that creates (``create`` not
``"false"``) must therefore offer an input for every such attribute to every role it
serves: a field that role sees, which is not read-only.
"""
from __future__ import annotations

from typing import Any

from caruso_frontoffice.views.catalog import Catalog
from caruso_frontoffice.views.model import FormView


def needed(attributes: dict[str, Any]) -> list[str]:
    """The attributes of one object (``describe()`` entries) a create must give a value."""
    return [name for name, meta in attributes.items()
            if meta.get("required") and not meta.get("generated") and meta.get("default") is None]


def create_problems(catalog: Catalog, objects: dict[str, Any]) -> list[str]:
    """``file:line: what`` for each create form that cannot make a valid object for some of
    its roles; ``objects`` is ``describe()["objects"]`` of the storage model. Objects the
    model lacks are :func:`~caruso_frontoffice.views.catalog.model_problems`' to report."""
    problems = []
    for view in catalog.views.values():
        if not isinstance(view, FormView) or not view.creates or view.object not in objects:
            continue
        wanted = needed(objects[view.object].get("attributes") or {})
        missing: dict[tuple[str, ...], list[str]] = {}
        for role in sorted(view.roles):
            inputs = {f.name for f in view.fields if f.visible_to(role) and f.widget != "readonly"}
            lacking = tuple(name for name in wanted if name not in inputs)
            if lacking:
                missing.setdefault(lacking, []).append(role)
        for lacking, roles in missing.items():
            problems.append(f"{view.source}: form {view.id!r} cannot create a {view.object} for "
                            f"{', '.join(roles)}: {', '.join(lacking)} required, with no input and no "
                            f"default (give each a field, or mark the form create=\"false\" if it only edits)")
    return problems
