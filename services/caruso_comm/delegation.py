"""Client operations a service hands to its parts: the service class names each operation
once, the part's method keeps the signature and the contract."""
from __future__ import annotations

import functools
from typing import Any, Callable

from caruso_core import remote


def delegate(operation: Callable[..., Any], part: str) -> Callable[..., Any]:
    """A ``@remote`` method doing ``operation`` (a method of a part's class) on the part the
    instance holds in its attribute ``part``; it carries the operation's name, signature
    and docstring."""
    @functools.wraps(operation)
    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        return operation(getattr(self, part), *args, **kwargs)
    return remote(forward)
