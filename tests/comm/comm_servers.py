"""Communication servers in tests: running in the test process (a pytest fixture), and a
restarted one found through the manager."""
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


def restarted(client: Any, agent: str) -> Any:
    """The communication server once it answers about ``agent`` (None before: a killed
    instance's registration expires meanwhile); for ``eventually``."""
    comm = client.get("caruso.comm/1")
    try:
        comm.agent(agent)
    except Exception:
        return None
    return comm
