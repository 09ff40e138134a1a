"""The other services of the deployment the communication server calls, reached through
its host's client: the storage service (``caruso.storage/1``: records, contact history,
the model module ``comm``) and the script engine (``caruso.scripts/1``: IVR menus)."""
from __future__ import annotations

from typing import Any, Callable

from caruso_core.client import Client

STORAGE, SCRIPTS = "caruso.storage/1", "caruso.scripts/1"
PAGE = 10_000
Query = Callable[[dict[str, Any]], list[dict[str, Any]]]   # ``{"object", "where"}`` -> every record


class Peers:
    """Client proxies of other services, the client's own (:meth:`Client.service`)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, interface: str) -> Any:
        return self.client.service(interface)

    def storage(self) -> Any:
        return self.get(STORAGE)

    def scripts(self) -> Any:
        return self.get(SCRIPTS)

    def query(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Every record of a storage query (``{"object", "where"}``), page by page."""
        storage, records = self.storage(), []
        while True:
            page = storage.query(query["object"], where=query.get("where"), limit=PAGE, offset=len(records))
            records += page
            if len(page) < PAGE:
                return records
