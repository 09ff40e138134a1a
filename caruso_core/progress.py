"""Progress of long work in a terminal, and silence elsewhere (a pipe, a log, a test).

:func:`bar` wraps an iterable in a progress bar drawn on standard error while it is a
terminal, :func:`counting` gives a bar to move on by counts; :func:`step` says what runs
and, at its end, how long it took, likewise only on a terminal. None of them changes what
a command prints on standard output.
"""
from __future__ import annotations

import contextlib
import sys
import time
from typing import Callable, Iterable, Iterator, TypeVar

import click

T = TypeVar("T")


def _terminal() -> bool:
    return sys.stderr.isatty()


def bar(items: Iterable[T], label: str, length: int | None = None) -> Iterator[T]:
    """``items``, with a progress bar labelled ``label`` on a terminal."""
    if not _terminal():
        yield from items
        return
    with click.progressbar(items, label=label, length=length, file=sys.stderr) as progress:
        yield from progress


@contextlib.contextmanager
def counting(label: str, length: int) -> Iterator[Callable[[int], None]]:
    """A function that moves a progress bar of ``length`` steps on by its argument, the bar
    labelled ``label`` on a terminal; elsewhere the function does nothing."""
    if not _terminal():
        yield lambda _steps: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as progress:
        yield progress.update


@contextlib.contextmanager
def step(label: str) -> Iterator[None]:
    """Say ``label…`` now and how long it took at the end, on a terminal."""
    if not _terminal():
        yield
        return
    click.echo(f"{label}…", err=True, nl=False)
    started = time.monotonic()
    yield
    click.echo(f" {time.monotonic() - started:.1f} s", err=True)
