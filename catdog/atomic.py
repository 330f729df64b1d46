"""Atomic file writes: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable


def write_atomic(path: str | os.PathLike, write: Callable[[IO], None], *, binary: bool = False) -> None:
    """Write ``path`` through ``write(handle)`` atomically.

    The content goes to a temporary file in the same folder, is flushed to disk
    (``fsync``) and replaces ``path`` with ``os.replace`` (atomic on POSIX and
    Windows).  On any error, including an interrupt, the temporary file is
    removed and ``path`` is left as it was.

    Args:
        path: the file to (re)write; its folder must exist.
        write: writes the content to the open handle.
        binary: open the temporary file in binary mode (else UTF-8 text).

    Raises:
        OSError: the temporary file cannot be made, written, synced or moved over ``path`` (a missing or
            read-only folder, a full disk); whatever ``write`` raises is passed on unchanged.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
