"""The secrets of a deployment: where each lives and what it allows.

- The **deployment secret** lets a process connect to the deployment's daemons at all:
  ``CARUSO_SECRET``, else the file ``secret`` in the data folder.
- The **operator secret** lets its holder swap, take over a name, register a standby,
  outrank the active instance and unregister others: ``CARUSO_OPERATOR_SECRET``, else
  the file ``operator.secret`` in the data folder.
- Either variable set to the empty string means "none here": the file is not read
  (``caruso up`` starts services so, with no operator secret).
- A **grant** lets one service process register one name as a trusted instance:
  ``CARUSO_GRANT``, made from the operator secret by :func:`grant`. ``caruso up`` gives
  each service it starts the grant of its own name, never the operator secret.

:func:`ensure` and :func:`make_files` create the two files (mode 0600, random) where
they are missing. Secrets
are read from the environment or these files only, never from a command line; a file that
cannot be read, holds no secret, or that any user may read (or its group change) is
refused (ConfigError), never taken for an open deployment.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from pathlib import Path

from caruso_core.errors import ConfigError

DEPLOYMENT_FILE = "secret"
OPERATOR_FILE = "operator.secret"
MAX_SECRET = 1024          # characters of a secret file


def _folder() -> Path:
    from caruso_core.deployment import data_path

    return data_path()


def _read(variable: str, filename: str) -> str | None:
    """The variable's value when it is set (set but empty: none, the file is not read),
    else the file's (none when there is no file); a file that cannot be read, holds no
    secret, or that any user may read (or the group change) is a ConfigError: the process
    would run open, or the secret is known (a group may read it, as for backups)."""
    if variable in os.environ:
        return os.environ[variable] or None
    path = _folder() / filename
    try:
        with path.open(encoding="utf-8") as file:
            mode = os.fstat(file.fileno()).st_mode
            text = file.read(MAX_SECRET + 1).strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the secret ({getattr(error, 'strerror', None) or error}); "
                          f"run as the deployment's user, or give it in {variable}") from None
    if mode & 0o026:
        raise ConfigError(f"{path}: other users may read or change this secret (mode {stat.S_IMODE(mode):o}); "
                          f"make it its owner's only (chmod 600 {path}), or give it in {variable}")
    if not text or len(text) > MAX_SECRET:
        raise ConfigError(f"{path} holds no secret of 1 to {MAX_SECRET} characters: delete it (caruso up makes "
                          f"a new one) or write one in it")
    return text


def deployment_secret() -> str | None:
    """The secret daemons require and proxies prove, or None (an open deployment)."""
    return _read("CARUSO_SECRET", DEPLOYMENT_FILE)


def operator_secret() -> str | None:
    """The operator secret, if this process may read it."""
    return _read("CARUSO_OPERATOR_SECRET", OPERATOR_FILE)


def ensure() -> tuple[str | None, str | None]:
    """The deployment and operator secrets; each is created (random, file mode 0600) in the
    data folder when neither its variable nor its file is there."""
    from caruso_core.deployment import data_dir

    found = []
    for variable, filename in (("CARUSO_SECRET", DEPLOYMENT_FILE), ("CARUSO_OPERATOR_SECRET", OPERATOR_FILE)):
        value = _read(variable, filename)
        if value is None and variable not in os.environ:
            value = _create(data_dir() / filename)
        found.append(value)
    return found[0], found[1]


def make_files(folder: Path) -> None:
    """Create whichever of the two secret files ``folder`` (a data folder) lacks."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for filename in (DEPLOYMENT_FILE, OPERATOR_FILE):
        if not (folder / filename).exists():
            _create(folder / filename)


def _create(path: Path) -> str:
    """Write a new random secret to ``path`` (0600) unless another process did first; the
    secret the file holds then."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-")   # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)     # atomic: readers see the whole file or none
    finally:
        os.unlink(temporary)
    return path.read_text(encoding="utf-8").strip()


def grant(operator: str, name: str) -> str:
    """The grant that lets a process register ``name`` as a trusted instance."""
    return hmac.new(operator.encode(), b"caruso-register:" + name.encode(), hashlib.sha256).hexdigest()


def is_grant(operator: str, name: str, offered: object) -> bool:
    return same(offered, grant(operator, name))


def same(offered: object, expected: str) -> bool:
    """Whether ``offered``, as a peer sent it, is the secret ``expected``: in constant time,
    and False (never an error) for anything but text, whatever characters it holds."""
    if not isinstance(offered, str):
        return False
    return hmac.compare_digest(offered.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
