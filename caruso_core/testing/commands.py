"""Running ``caruso`` commands inside the test process, as the console script would.

:func:`caruso` invokes the command line with click's runner: a user's mistake (a
:class:`CarusoError`, a bad option) becomes one line on standard error and its exit code,
exactly as :func:`caruso_core.cli.main` says it (:func:`caruso_core.cli.failure`). Commands that serve until stopped (``manager``,
``serve`` once up, ``up``) belong in a subprocess instead.
"""
from __future__ import annotations

from typing import Any

import attrs
from click.testing import CliRunner

from caruso_core.cli import cli, failure


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
    if result.exception is None or isinstance(result.exception, SystemExit):
        return Ran(result.exit_code, result.stdout, result.stderr)
    said = failure(result.exception)
    if said is None:
        raise result.exception
    return Ran(said[1], result.stdout, result.stderr + said[0] + "\n")
