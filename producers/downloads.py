"""Files written whole: an interrupted download never leaves half a file under its name.

:func:`save_whole` streams the chunks into a temporary file beside the target as they arrive,
and renames it over the target only once the last one is in (:func:`atomic_file`): a failure or
a Ctrl-C on the way removes the temporary file and leaves an older file of that name as it was.
:func:`print_whole` is the same for a stream such as stdout, which cannot be renamed: the
chunks go to an unnamed temporary file and are copied out only at the end, so a shell
redirection gets the whole file or nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_file", "print_whole", "save_whole"]

NEW_FILE_MODE = 0o644


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` in one step when the block ends without an error.

    It is written beside ``path`` (same directory, so the rename is atomic) under a hidden
    ``.<name>.<random>.part`` name, synced to disk, given the permissions of the file it
    replaces (0o644 for a new one), then renamed. On any error the temporary file is removed.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_whole(chunks: Iterable[bytes], path: Path) -> int:
    """Write ``chunks`` to ``path`` as they arrive, atomically (:func:`atomic_file`); the size.

    Each chunk is flushed as it comes: the temporary file grows with the download."""
    size = 0
    with atomic_file(path) as out:
        for chunk in chunks:
            out.write(chunk)
            out.flush()
            size += len(chunk)
    return size


def print_whole(chunks: Iterable[bytes], out: BinaryIO) -> int:
    """Copy ``chunks`` to ``out`` once all have arrived (kept in a temporary file meanwhile,
    not in memory); the size. Nothing reaches ``out`` when the chunks fail part way."""
    size = 0
    with tempfile.TemporaryFile() as spool:
        for chunk in chunks:
            spool.write(chunk)
            size += len(chunk)
        spool.seek(0)
        shutil.copyfileobj(spool, out)
    out.flush()
    return size
