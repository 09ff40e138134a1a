"""Test database servers and throwaway databases on them, shared by the PostgreSQL and MariaDB fixtures."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator


@contextmanager
def throwaway_database(server_url: str, quote: str, drop_suffix: str = "", create_suffix: str = "") -> Iterator[str]:
    """The URL of a new, empty database on the server at ``server_url``, dropped on exit.
    ``quote`` quotes its name in the server's SQL; ``create_suffix`` and ``drop_suffix`` end
    the CREATE and DROP statements (e.g. an encoding)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"caruso_test_{uuid.uuid4().hex[:12]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}{create_suffix}")
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{drop_suffix}")
    finally:
        server.dispose()


@contextmanager
def server_url(environment: str, start: Callable[[], Any]) -> Iterator[str]:
    """The URL in the variable ``environment`` when set, else that of a server ``start()``
    makes (an object with ``url`` and ``stop()``), stopped on exit."""
    if os.environ.get(environment):
        yield os.environ[environment]
        return
    server = start()
    try:
        yield server.url
    finally:
        server.stop()
