"""Communication servers running in the test process (a pytest fixture)."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from caruso_comm.service import CommServer


@pytest.fixture
def running(tmp_path: Any) -> Iterator[Callable[..., CommServer]]:
    """``running(**config)`` starts a server with ``config`` and its own event log; all are
    stopped at the end of the test."""
    servers: list[CommServer] = []

    def start(**config: Any) -> CommServer:
        server = CommServer(db=f"sqlite:///{tmp_path / f'comm-{len(servers)}.db'}", **config)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
