"""The caruso test kit, for component and wrapper authors.

Loaded automatically by pytest (entry point ``pytest11``), it provides fixtures that
run the real thing on 127.0.0.1 (see :mod:`caruso_core.testing.plugin`):

``caruso_manager``  a manager in a thread (free port, its own SQLite database, the
                    deployment secrets in the test's data folder)
``caruso_host``     a factory hosting services in threads, or with ``caruso serve`` in
                    subprocesses (``process=True``: for crashes, output, memory)
``caruso_manager_process``  the manager as a subprocess
``caruso_cluster``  a manager and hosts shared by the tests of one module
``caruso_client``   ``caruso_core.connect()`` to that manager
``chromium``        the session's headless Chromium (Playwright), for pages under test
                    (``chromium_calls``: the full browser, for pages holding calls)
``smtp_server``     a real SMTP server on 127.0.0.1 that keeps the messages it receives
                    (``smtp_tls``: certificates for one with STARTTLS or TLS)
``postgres_url``    a throwaway PostgreSQL server (``postgres_database``: a fresh database)
``caruso_network``  three hosts in network namespaces joined by a bridge (:mod:`.netns`)

:func:`eventually` (wait for what happens in the background, no fixed sleeps), and
:class:`ContractSuite`, the base class of an interface's contract tests. To prove
that an implementation honours an interface, subclass the interface's suite in a test
module and provide the fixture ``service``::

    from caruso_core.testing import contract_suite

    class TestMyStorage(contract_suite("caruso.storage/1")):
        @pytest.fixture
        def service(self, caruso_host, caruso_client):
            caruso_host("my_package.storage:MyStorage")
            return caruso_client.get("caruso.storage/1")
"""
from __future__ import annotations

from typing import ClassVar

from caruso_core import plugins
from caruso_core.errors import ConfigError
from caruso_core.testing.waiting import eventually

__all__ = ["ContractSuite", "contract_suite", "eventually"]

CONTRACTS_GROUP = "caruso.contracts"


class ContractSuite:
    """Base of a contract suite: tests every implementation of ``interface`` must pass.

    Tests of a suite take the fixture ``service``: an object with the interface's
    methods (usually a client proxy to the hosted implementation). A suite may name
    further fixtures it needs in its docstring; the conformance module provides them.
    """

    interface: ClassVar[str] = ""


def contract_suite(interface: str) -> type[ContractSuite]:
    """The contract suite published for ``interface`` through the ``caruso.contracts`` group."""
    suites = plugins.group(CONTRACTS_GROUP)
    if interface not in suites:
        raise ConfigError(f"no contract suite for {interface!r} is installed "
                          f"(known: {', '.join(sorted(suites)) or 'none'})")
    return suites[interface].load()
