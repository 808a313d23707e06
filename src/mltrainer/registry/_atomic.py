"""Durable, atomic file-system primitives: fsync, atomic JSON replace, a lock, temp cleanup."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger("mltrainer")

TEMP_PREFIX = ".tmp-"
STALE_TEMP_SECONDS = 3600.0


def fsync_file(path: Path) -> None:
    """Flush ``path``'s data to disk.

    Parameters
    ----------
    path : Path
        A regular file that exists.
    """
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Flush a directory entry table to disk (a no-op where the OS cannot open directories).

    Parameters
    ----------
    path : Path
        The directory whose entries (created, renamed files) must survive a crash.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open a directory; its renames are durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def dump_json(obj: Any) -> bytes:
    """Serialise ``obj`` as indented, key-sorted UTF-8 JSON (NaN/inf are refused)."""
    return (json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")


def write_file_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and fsync it (not atomic: use inside a temp directory).

    Parameters
    ----------
    path : Path
        Destination file; overwritten when it exists.
    data : bytes
        The content.
    """
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_json_atomic(path: Path, obj: Any) -> None:
    """Replace ``path`` with ``obj`` as JSON: temp file in the same directory, fsync, os.replace.

    Readers see either the old or the new content, never a partial file.

    Parameters
    ----------
    path : Path
        Destination JSON file.
    obj : Any
        A JSON-serialisable object.
    """
    tmp = path.with_name(f"{TEMP_PREFIX}{path.name}-{uuid.uuid4().hex}")
    try:
        write_file_synced(tmp, dump_json(obj))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (POSIX ``flock``; no-op elsewhere).

    Parameters
    ----------
    path : Path
        The lock file; created when missing and left in place.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def remove_stale_temp_dirs(directory: Path, *, max_age_s: float = STALE_TEMP_SECONDS) -> None:
    """Delete temp directories and files left in ``directory`` by writes that crashed long ago.

    Parameters
    ----------
    directory : Path
        A model directory.
    max_age_s : float, default 3600
        Only temp entries not modified for this many seconds are removed, so a write
        still running in another process is never disturbed.
    """
    now = time.time()
    for entry in directory.glob(f"{TEMP_PREFIX}*"):
        try:
            if now - entry.stat().st_mtime <= max_age_s:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:  # a temp aliases file from a crashed os.replace
                entry.unlink()
            logger.info("removed stale temp entry %s", entry)
        except OSError:  # vanished meanwhile
            continue
