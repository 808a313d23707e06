"""Checks that every place a run writes to can take the write, before any data is loaded.

A run that trains for minutes and then cannot save its version, record its scores or write
its report wastes the work (and a retry registers another version). These checks run first:
the registry root is (or can become) a writable folder, the store URL has a known scheme
and the store answers, and each output file's folder is (or can become) writable.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mltrainer.config import Config
from mltrainer.exceptions import ConfigError, MltrainerError
from mltrainer.store import open_store

__all__ = ["check_destinations", "check_output_file", "check_registry_root", "check_store"]

PathLike = str | os.PathLike[str]


def _existing_ancestor(path: Path) -> Path:
    """``path`` itself when it exists, else the nearest ancestor that does."""
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _unwritable(directory: Path) -> str | None:
    """Why a file cannot be created in ``directory`` (None when it can).

    Creates and drops an unnamed temporary file there (``O_TMPFILE`` where the OS has it,
    so nothing is left even if the process dies), which also catches read-only mounts and
    immutable folders, where the permission bits alone would say yes (e.g. for root).
    """
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=".tmp-probe-"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _check_folder(folder: Path, *, what: str, fix: str) -> None:
    """``folder`` is a writable directory, or can be created as one."""
    base = _existing_ancestor(folder)
    if not base.is_dir():
        shown = f"'{folder}' is a file" if base == folder else f"'{base}' is a file"
        raise ConfigError(f"{what}: {shown}, not a folder; {fix}")
    reason = _unwritable(base)
    if reason is not None:
        where = f"'{folder}'" if base == folder else f"'{folder}' cannot be created: '{base}'"
        raise ConfigError(f"{what}: {where} is not writable ({reason}); {fix}")


def check_registry_root(root: PathLike, *, name: str | None = None) -> None:
    """Refuse a registry root where a version could not be saved.

    Parameters
    ----------
    root : path-like
        The registry folder (``registry.root``); it may not exist yet.
    name : str, optional
        The model name: its folder ``root/name``, when it exists, must be writable too.

    Raises
    ------
    ConfigError
        The root (or the model's folder) is a file, or cannot be written or created.
    """
    folder = Path(root)
    if name is not None and (folder / name).exists():
        folder = folder / name
    fix = "point registry.root (or --root) at a writable folder"
    _check_folder(folder, what=f"registry.root '{root}'", fix=fix)


def check_store(url: str, *, prefix: str = "mltrainer") -> None:
    """Open and close the store at ``url``: a known scheme, reachable, writable.

    A SQLite store is created when missing (its tables too), as the run would do; a
    Redis store must answer ``PING``.

    Raises
    ------
    ConfigError
        The URL's scheme is unknown or the URL is malformed.
    StoreError
        The store cannot be opened or does not answer.
    """
    try:
        open_store(url, prefix=prefix).close()
    except MltrainerError as exc:
        raise type(exc)(f"store.url: {exc}") from None


def check_output_file(path: PathLike, *, what: str) -> None:
    """Refuse an output file that could not be written.

    Parameters
    ----------
    path : path-like
        The file a command will write (its missing folders are created when it writes).
    what : str
        The option or setting that names it, e.g. ``"--report"``.

    Raises
    ------
    ConfigError
        The path is a folder, an existing file that cannot be replaced, or its folder is
        a file or cannot be written or created.
    """
    file = Path(path)
    if file.is_dir():
        raise ConfigError(f"{what} '{file}' is a folder; pass a file name inside it")
    if file.exists() and not os.access(file, os.W_OK):
        raise ConfigError(f"{what} '{file}' exists and cannot be replaced (not writable)")
    _check_folder(file.parent, what=f"{what} '{file}'", fix="pick a writable location")


def check_destinations(
    config: Config,
    *,
    registry: bool = True,
    store: bool = True,
    outputs: Mapping[str, PathLike | None] | None = None,
) -> None:
    """Check every destination of a run before any data is loaded.

    Parameters
    ----------
    config : Config
        The run's config: ``registry.root`` (with ``name``) and ``store.url``.
    registry : bool, default True
        Check the registry root (the run saves a version).
    store : bool, default True
        Check the store (the run records scores, history or results).
    outputs : mapping, optional
        ``{option: path}`` of output files (``{"--report": "out/report.html"}``); None
        paths are skipped.

    Raises
    ------
    ConfigError, StoreError
        One line naming the setting or option and the fix.
    """
    if registry:
        check_registry_root(config.registry.root, name=config.name)
    if store:
        check_store(config.store.url, prefix=config.store.prefix)
    for what, path in (outputs or {}).items():
        if path is not None:
            check_output_file(path, what=what)
