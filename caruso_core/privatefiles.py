"""Files and folders caruso creates for a deployment's data, closed to other local users.

Contract: a file created here gets exactly mode 0600 (unless a caller names another mode)
and a folder exactly 0700, whatever the process umask, from the moment it exists. A file
or folder that exists already keeps its mode: what someone else set up (a legacy
system's database, a folder shared with a group on purpose) is never changed.
"""
from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def create_file(path: str | os.PathLike[str], mode: int = FILE_MODE) -> bool:
    """Create ``path`` empty with exactly ``mode`` unless something is there already (a
    dangling symbolic link counts); returns whether this call created it."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    try:
        os.fchmod(descriptor, mode)
    finally:
        os.close(descriptor)
    return True


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path``; a file created for it is 0600, an existing one keeps its mode."""
    create_file(path)
    Path(path).write_bytes(data)


def create_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder, created with its missing parents if needed; created here, it
    is exactly 0700 (the parents get the usual mode). Returns the path."""
    folder = Path(path)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(FOLDER_MODE)
    except FileExistsError:
        if not folder.is_dir():
            raise
        return folder
    os.chmod(folder, FOLDER_MODE)
    return folder
