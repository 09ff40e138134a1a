"""Fixtures shared by the tests of every component."""
from __future__ import annotations

import os
from typing import Iterator

import pytest


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Umask 0o002 during the test (and for the processes it starts): without their own
    care, files would be made 0664 and folders 0775."""
    previous = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(previous)
