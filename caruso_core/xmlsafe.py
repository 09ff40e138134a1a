"""Reading the XML files of caruso (models, scripts, views) safely, with lines in errors.

Contract: :func:`parse` never expands an entity, never loads a DTD or anything from
the network, refuses documents larger than ``max_bytes`` and documents declaring
entities (billion laughs, external entities) before using any of their content, and
raises :class:`~caruso_core.errors.ConfigError` with a message ``SOURCE:LINE: what is
wrong`` for malformed XML. A DOCTYPE without entity declarations (e.g. naming a
published DTD for editors) is allowed and ignored. :func:`validate` checks a parsed
document against a RelaxNG schema and reports the first error that has a line (RelaxNG
also reports the enclosing elements that failed, which say less: :func:`violations`).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from lxml import etree

from caruso_core.errors import ConfigError

MAX_BYTES = 4 * 1024 * 1024
GENERIC = re.compile(r"Element (\S+) failed to validate (attributes|content)")


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
        line, message = violations(checker, root)[0]
        raise ConfigError(f"{source}:{line}: {message}")


def violations(checker: etree.RelaxNG, root: etree._Element) -> list[tuple[int, str]]:
    """``(line, message)`` of what the last validation of ``root`` by ``checker`` found, those
    with a line first, without the enclosing elements' "failed to validate" where a violation
    says more; the one element of a line whose attributes did not fit is shown with them
    (RelaxNG does not say which attribute)."""
    errors = list(checker.error_log)
    specific = [e for e in errors if not GENERIC.fullmatch(e.message)] or errors
    found = []
    for error in sorted(specific, key=lambda e: e.line <= 0):
        generic = GENERIC.fullmatch(error.message)
        elements = [e for e in root.iter(generic.group(1)) if e.sourceline == error.line] \
            if generic and generic.group(2) == "attributes" else []
        if len(elements) != 1:
            found.append((error.line, error.message))
        else:
            listed = " ".join(f'{name}="{_short(value)}"' for name, value in elements[0].attrib.items())
            found.append((error.line, f"<{elements[0].tag} {listed}>: an attribute is unknown, its value is not "
                                      "one the format allows, or one it requires is missing"))
    return found


def _short(value: str, most: int = 60) -> str:
    return value if len(value) <= most else value[:most] + "…"
