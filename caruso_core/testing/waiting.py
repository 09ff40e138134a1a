"""Waiting in tests for what happens in the background, without fixed sleeps."""
from __future__ import annotations

import time
from typing import Any, Callable

DEFAULT_LIMIT = 30.0


def eventually(check: Callable[[], Any], limit: float = DEFAULT_LIMIT, what: str = "") -> Any:
    """The first true result of ``check()``, polled every 20 ms; an AssertionError naming
    ``what`` (else the check) once ``limit`` seconds have passed without one."""
    deadline = time.monotonic() + limit
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or getattr(check, '__name__', 'the condition')} not met "
                                 f"within {limit:g}s")
        time.sleep(0.02)
    return result
