"""Reading the XML files of caruso (models, scripts, views) safely, with lines in errors.

Contract: :func:`parse` never expands an entity, never loads a DTD or anything from
the network, refuses documents larger than ``max_bytes`` and documents declaring
entities (billion laughs, external entities) before using any of their content, and
raises :class:`~caruso_core.errors.ConfigError` with a message ``SOURCE:LINE: what is
wrong`` for malformed XML. A DOCTYPE without entity declarations (e.g. naming a
published DTD for editors) is allowed and ignored. :func:`validate` checks a parsed
document against a RelaxNG schema and reports the first error that has a line (RelaxNG
also reports the enclosing elements that failed, which say less).
"""
from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

from caruso_core.errors import ConfigError

MAX_BYTES = 4 * 1024 * 1024


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_pis=True)


def read(path: str | Path, max_bytes: int = MAX_BYTES) -> etree._Element:
    """Parse the file at ``path`` (named in errors by its path)."""
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    return parse(data, str(path), max_bytes)


def parse(data: bytes, source: str, max_bytes: int = MAX_BYTES) -> etree._Element:
    """The root element of ``data``; ``source`` names the document in errors."""
    if len(data) > max_bytes:
        raise ConfigError(f"{source}:1: larger than {max_bytes} bytes; split it")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        said = error.msg or ""
        if b"<!ENTITY" in data and "amplification" in said:     # libxml2's own guard stopped an expansion
            _refuse_entities(data, source)
        if said.startswith("Excessive depth in document"):
            said = "elements nested deeper than 256 levels"
        raise ConfigError(f"{source}:{error.lineno or 1}: malformed XML: {said}") from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        _refuse_entities(data, source)
    for node in root.iter(etree.Entity):
        raise ConfigError(f"{source}:{node.sourceline}: entity reference {node.text} is not allowed")
    return root


def _refuse_entities(data: bytes, source: str) -> None:
    line = data[:max(data.find(b"<!ENTITY"), 0)].count(b"\n") + 1
    raise ConfigError(f"{source}:{line}: entity declarations are not allowed (they could expand "
                      "without bound or read other files); remove the <!ENTITY>")


@functools.cache
def schema(path: str | Path) -> etree.RelaxNG:
    """The RelaxNG schema at ``path`` (a file shipped with a package), loaded once."""
    return etree.RelaxNG(read(path))


def validate(root: etree._Element, schema_path: str | Path, source: str) -> None:
    """Check ``root`` against a RelaxNG schema; the first violation is a ConfigError with its line."""
    checker = schema(str(schema_path))
    if not checker.validate(root):
        errors = list(checker.error_log)
        first = next((e for e in errors if e.line), errors[0])
        raise ConfigError(f"{source}:{first.line}: {first.message}")
