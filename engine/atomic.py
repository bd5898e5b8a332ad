"""Atomic file writes: readers see the old file or the new one, never a partial one.

The data goes to a hidden temporary file in the same folder, is flushed to disk, and
is then renamed over the target (a rename within one folder is atomic). Torch-free.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".loomtmp"


def is_temporary(name: str) -> bool:
    """Whether a file name is one of these temporary files (listings skip them)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


@contextlib.contextmanager
def atomic_path(path: Path | str):
    """Yield a temporary path to write; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    try:
        yield Path(temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or what a plain open() would give (mkstemp's are 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
