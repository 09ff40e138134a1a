"""Whole numbers in what peers send: ASCII digits only.

``str.isdigit()`` is also true for ``²`` (which ``int()`` refuses) and for ``٣`` (which
``int()`` reads as 3), so text from a request, a header, a form or a SIP message is checked
with :func:`digits` before ``int()`` reads it.
"""
from __future__ import annotations


def digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits, ``0`` to ``9``."""
    return text.isascii() and text.isdigit()
