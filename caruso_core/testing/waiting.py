"""Waiting in tests for what happens in the background, without fixed sleeps."""
from __future__ import annotations

import time
from typing import Any, Callable

DEFAULT_LIMIT = 30.0


def eventually(read: Callable[[], Any], accept: Callable[[Any], Any] = bool, limit: float = DEFAULT_LIMIT,
               what: str = "") -> Any:
    """The first value of ``read()`` that ``accept`` holds true (by default: the first true
    one), read every 20 ms; an AssertionError naming ``what`` (else ``read``) and the last
    value once ``limit`` seconds have passed without one."""
    deadline = time.monotonic() + limit
    while not accept(value := read()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or getattr(read, '__name__', 'the condition')} not met within "
                                 f"{limit:g}s; last seen: {value!r:.300}")
        time.sleep(0.02)
    return value
