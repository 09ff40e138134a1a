"""Synthetic histories of the analytics tests (generated once per test module)."""
from __future__ import annotations

import pytest

from caruso_analytics import synthetic


@pytest.fixture(scope="module")
def full_history():
    """Fifty thousand customers over two years (about 3 s)."""
    return synthetic.generate(50_000, seed=11)


@pytest.fixture(scope="module")
def small_history():
    """Eight thousand customers over two years."""
    return synthetic.generate(8_000, seed=5)
