"""A model's metadata as plain data: what ``describe()`` answers and ``caruso model describe`` prints.

Views, scripts and people read it; its shape is documented in docs/storage.md. Public
(other components may import it): :func:`describe_files` answers for a model's files without
a running storage service.
"""
from __future__ import annotations

from typing import Any, Sequence

from caruso_storage import loader, values
from caruso_storage.model import Attribute, Model, ObjectType
from caruso_storage.tables import VERSION_KEY


def describe_model(model: Model) -> dict[str, Any]:
    """The model's name, databases and every object's entry."""
    return {"name": model.name, "databases": list(model.databases),
            "objects": {name: describe_object(obj) for name, obj in model.objects.items()}}


def describe_files(files: Sequence[str]) -> dict[str, Any]:
    """:func:`describe_model` of the model the storage makes of ``files``, applied in order
    (none: the packaged model); ConfigError naming the file when one is invalid."""
    return describe_model(loader.load(list(files)) if files else loader.load_default())


def describe_object(obj: ObjectType) -> dict[str, Any]:
    """One object: label, database, table, key, attributes (``min_field`` and ``max_field``
    only where a bound names another attribute, ``scale`` only of a decimal that has one),
    relations, rule names, and its full-text searches when it declares some."""
    attributes = {name: _attribute(a) for name, a in obj.attributes.items()}
    relations = {name: {"kind": r.kind, "target": r.target, "foreign_key": list(r.foreign_key)}
                 for name, r in obj.relations.items()}
    described = {"label": obj.label, "database": obj.database, "table": obj.table, "existing": obj.existing,
                 "key": list(obj.key), "attributes": attributes, "relations": relations,
                 "rules": [rule.name for rule in obj.rules], "version": VERSION_KEY}
    if obj.searches:
        described["searches"] = {search.name: {"attributes": list(search.attributes), "language": search.language}
                                 for search in obj.searches}
    return described


def _attribute(a: Attribute) -> dict[str, Any]:
    described = {"type": a.type, "length": a.length, "required": a.required or (a.key and not a.generated),
                 "key": a.key, "generated": a.generated, "default": values.encode(a.default),
                 "choices": None if a.choices is None else [values.encode(c) for c in a.choices],
                 "choice_labels": None if a.choice_labels is None else
                 {values.encode(code): label for code, label in zip(a.choices or (), a.choice_labels)},
                 "min": values.encode(a.minimum), "max": values.encode(a.maximum), "label": a.label}
    for bound, name in (("min_field", a.minimum_field), ("max_field", a.maximum_field)):
        if name is not None:
            described[bound] = name
    if a.type == "decimal" and a.scale is not None:
        described["scale"] = a.scale              # decimal places a value is stored with
    return described
