"""Heaps with lazy deletion: stale entries are dropped when they reach the top."""
from __future__ import annotations

import heapq
from typing import Callable, TypeVar

T = TypeVar("T")


def first(heap: list[T], stale: Callable[[T], bool], skip: Callable[[T], bool]) -> T | None:
    """The smallest entry neither stale nor skipped, left in the heap; stale entries met on
    the way are removed, skipped ones kept."""
    held, found = [], None
    while heap:
        entry = heap[0]
        if stale(entry):
            heapq.heappop(heap)
        elif skip(entry):
            held.append(heapq.heappop(heap))
        else:
            found = entry
            break
    for entry in held:
        heapq.heappush(heap, entry)
    return found
