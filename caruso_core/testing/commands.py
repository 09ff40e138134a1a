"""Running ``caruso`` commands inside the test process, as the console script would.

:func:`caruso` invokes the command line with click's runner: a :class:`CarusoError`
becomes ``error: <message>`` on standard error and exit code 1, exactly as
:func:`caruso_core.cli.main` does. Commands that serve until stopped (``manager``,
``serve`` once up, ``up``) belong in a subprocess instead.
"""
from __future__ import annotations

from typing import Any

import attrs
from click.testing import CliRunner

from caruso_core.cli import cli
from caruso_core.errors import CarusoError


@attrs.frozen
class Ran:
    """What a command did: ``exit_code``, ``stdout``, ``stderr``."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def returncode(self) -> int:
        """The exit code, named as :class:`subprocess.CompletedProcess` names it."""
        return self.exit_code


def caruso(*arguments: Any, env: dict[str, str] | None = None, input: str | None = None) -> Ran:
    """Run ``caruso ARGUMENTS`` in process (``env``: variables set meanwhile, ``""`` unsets none)."""
    result = CliRunner().invoke(cli, [str(a) for a in arguments], env=env, input=input, standalone_mode=False)
    if isinstance(result.exception, CarusoError):
        return Ran(1, result.stdout, result.stderr + f"error: {result.exception}\n")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)
