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


def _try_lock(handle: Any) -> bool:
    """Take ``handle``'s exclusive lock without waiting; True when taken."""
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def claimed_temp_dir(directory: Path) -> Iterator[Path]:
    """Create a hidden temp directory in ``directory`` and hold its lock while in use.

    The lock file ``.tmp-<id>.lock`` is locked (``flock``) before ``.tmp-<id>`` exists and
    stays locked until the block ends, so :func:`remove_stale_temp_dirs` in another
    process can tell a temp directory that is being written from one whose writer died
    (the OS drops the lock of a killed process). On leaving, whatever is still at the temp
    path (the block did not rename it away) is removed, then the lock file.

    Parameters
    ----------
    directory : Path
        An existing model directory.

    Yields
    ------
    Path
        The new, empty temp directory.
    """
    token = uuid.uuid4().hex
    tmp = directory / f"{TEMP_PREFIX}{token}"
    lock = directory / f"{TEMP_PREFIX}{token}.lock"
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - Windows: age decides alone
        handle = None
    else:
        handle = open(lock, "a+b")  # noqa: SIM115 - held for the whole block
        _try_lock(handle)  # a new file: nobody else holds it
    try:
        tmp.mkdir()
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if handle is not None:
            lock.unlink(missing_ok=True)
            handle.close()


def remove_stale_temp_dirs(directory: Path, *, max_age_s: float = STALE_TEMP_SECONDS) -> None:
    """Delete temp directories and files that writes killed before finishing left behind.

    A temp directory with a lock file (see :func:`claimed_temp_dir`) is removed as soon as
    nobody holds its lock: its writer is gone; so is a lock file whose directory is gone (a
    save killed after renaming it) once nobody holds it. One without a lock file (written by
    an older mltrainer, or where ``flock`` is missing) and any other temp file, such as a
    temp ``aliases.json`` from a crashed ``os.replace``, is removed when it has not been
    modified for ``max_age_s``. A write still running in another process is never
    disturbed.

    Parameters
    ----------
    directory : Path
        A model directory.
    max_age_s : float, default 3600
        Age after which an unlocked-kind temp entry counts as abandoned.
    """
    now = time.time()
    entries = sorted(directory.glob(f"{TEMP_PREFIX}*"))
    names = {entry.name for entry in entries}
    for entry in entries:
        lock = entry.with_name(f"{entry.name}.lock")
        try:
            if entry.name.endswith(".lock") and entry.name[: -len(".lock")] in names:
                continue  # handled with its directory
            if lock.name in names and entry.is_dir():
                _remove_if_unlocked(entry, lock)
                continue
            if entry.name.endswith(".lock") and _remove_if_unlocked(None, entry):
                continue  # an orphan lock: its save was killed after renaming its folder
            if now - entry.stat().st_mtime <= max_age_s:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
            logger.info("removed stale temp entry %s", entry)
        except OSError:  # vanished meanwhile
            continue


def _remove_if_unlocked(tmp: Path | None, lock: Path) -> bool:
    """Remove ``tmp`` (when given) and ``lock`` if nobody holds the lock; True if removed.

    False when a save holds it, or where locks cannot be taken (no ``flock``): age decides.
    """
    try:
        handle = open(lock, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:  # its writer finished meanwhile
        return True
    try:
        try:
            taken = _try_lock(handle)
        except ImportError:  # pragma: no cover - Windows
            return False
        if not taken:
            return False  # a save is writing it
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        lock.unlink(missing_ok=True)
        logger.info("removed %s left by a save that did not finish", tmp or lock)
        return True
    finally:
        handle.close()
