"""Finding the customer of an address a channel sees (an e-mail sender, a caller's number).

``lookup`` (``{"object": "Customer", "field": "email", "key": "id"}``): the customer is
the first record of that object in the storage service ``caruso.storage/1`` whose field
equals the address; ``known`` maps addresses to customers first (for tests and fixed
senders). An address nobody matches gives None.
"""
from __future__ import annotations

from typing import Mapping

from caruso_core.context import HostContext
from caruso_core.errors import ConfigError


class CustomerLookup:
    def __init__(self, context: HostContext, lookup: Mapping[str, str] | None, *, field: str,
                 known: Mapping[str, str] | None = None, channel: str) -> None:
        self.lookup = dict(lookup or {})
        if self.lookup and "object" not in self.lookup:
            raise ConfigError(f"{channel} channel: lookup needs 'object' (and 'field', 'key')")
        self.known = {key.lower(): value for key, value in (known or {}).items()}
        self._field = field
        self._context = context

    def __call__(self, address: str | None) -> str | None:
        """The customer id of ``address``, or None."""
        if not address:
            return None
        if address.lower() in self.known or not self.lookup:
            return self.known.get(address.lower())
        found = self._context.client.service("caruso.storage/1").query(self.lookup["object"], where={
            "field": self.lookup.get("field", self._field), "op": "eq", "value": address}, limit=1)
        return str(found[0][self.lookup.get("key", "id")]) if found else None
