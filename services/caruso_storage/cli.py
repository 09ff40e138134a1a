"""Command line of the storage service: ``caruso model ...`` and ``caruso data ...``."""
from __future__ import annotations

import click


@click.group()
def model() -> None:
    """Check, compare, upgrade and draft business object models."""


@click.group()
def data() -> None:
    """Move business objects in and out of the storage."""
