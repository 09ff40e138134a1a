"""Waiting for what a hosted service does in the background."""
from __future__ import annotations

import time
from typing import Any, Callable


def eventually(check: Callable[[], Any], limit: float = 30.0) -> Any:
    """The first true result of ``check``, polled until ``limit`` seconds have passed."""
    deadline = time.monotonic() + limit
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result
