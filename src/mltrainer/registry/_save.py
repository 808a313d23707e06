"""Writing one version atomically: temp directory, fsync, rename to the next free number."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mltrainer.exceptions import ConfigError, StoreError
from mltrainer.registry._atomic import (
    claimed_temp_dir,
    dump_json,
    fsync_dir,
    fsync_file,
    remove_stale_temp_dirs,
    write_file_synced,
)
from mltrainer.registry._manifest import MANIFEST, METADATA, write_manifest
from mltrainer.registry._metadata import git_commit, library_versions, to_jsonable
from mltrainer.registry._protocol import ModelFormat

RESERVED_KEYS = (
    "name",
    "version",
    "created_at",
    "feature_names",
    "format",
    "versions",
    "git_commit",
    "parent",
)
# the registry's files and the names model formats write (model.*, spec.json, member-*)
_RESERVED_FILES = frozenset([METADATA, MANIFEST, "spec.json"])
_RESERVED_PREFIXES = ("model.", "member-")
_VERSION_DIR = re.compile(r"[1-9][0-9]*")
_EXTRA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MAX_ATTEMPTS = 10_000


def existing_versions(model_dir: Path) -> list[int]:
    """Return the sorted version numbers present in ``model_dir`` (temp dot-dirs ignored)."""
    if not model_dir.is_dir():
        return []
    return sorted(
        int(entry.name)
        for entry in model_dir.iterdir()
        if _VERSION_DIR.fullmatch(entry.name) and entry.is_dir()
    )


def check_feature_names(feature_names: Sequence[str], model: Any) -> list[str]:
    """Validate ``feature_names`` against each other and against what ``model`` was fitted on.

    Raises
    ------
    ConfigError
        If they are not a non-empty sequence of unique strings, or disagree with the
        model's ``n_features_in_`` / ``feature_names_in_``.
    """
    if isinstance(feature_names, (str, bytes)) or not isinstance(feature_names, Sequence):
        raise ConfigError(
            f"feature_names must be a list of column names, got {type(feature_names).__name__}; "
            "pass list(X.columns)"
        )
    names = list(feature_names)
    bad = [name for name in names if not isinstance(name, str) or not name]
    if not names or bad:
        raise ConfigError(
            f"feature_names must be non-empty strings, got {names[:5]!r}; pass list(X.columns)"
        )
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise ConfigError(f"feature_names repeats {duplicated}; each feature must appear once")
    n_fitted: Any = None
    fitted_names: Any = None
    with contextlib.suppress(Exception):  # unfitted models raise on these attributes
        n_fitted = getattr(model, "n_features_in_", None)
    with contextlib.suppress(Exception):
        fitted_names = getattr(model, "feature_names_in_", None)
    if n_fitted is not None and int(n_fitted) != len(names):
        raise ConfigError(
            f"feature_names has {len(names)} names but the model was fitted on {n_fitted} "
            "features; pass the columns of the frame the model was fitted on"
        )
    if fitted_names is not None and [str(n) for n in fitted_names] != names:
        raise ConfigError(
            f"feature_names {names[:5]!r}... differ from the model's feature_names_in_ "
            f"{list(fitted_names)[:5]!r}...; pass list(X.columns) of the training frame"
        )
    return names


def base_metadata(
    name: str,
    metadata: Mapping[str, Any] | None,
    *,
    feature_names: list[str],
    format_name: str,
    parent: int | None = None,
) -> dict[str, Any]:
    """Merge the caller's metadata with the registry's keys (all but ``version``).

    Raises
    ------
    ConfigError
        If the caller's metadata is not a mapping, holds a value with no JSON form, or
        sets a reserved key to a value different from the registry's.
    """
    if metadata is not None and not isinstance(metadata, Mapping):
        raise ConfigError(f"metadata must be a mapping, got {type(metadata).__name__}")
    user = to_jsonable(dict(metadata or {}), where="metadata")
    own: dict[str, Any] = {
        "name": name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "feature_names": feature_names,
        "format": format_name,
        "versions": library_versions(),
        "git_commit": git_commit(),
        "parent": parent,
    }
    for key in RESERVED_KEYS:
        if key in user and (key not in own or user[key] != own[key]):
            raise ConfigError(
                f"metadata key {key!r} is reserved (the registry sets it); rename that key"
            )
    return {**user, **own}


def _collided(exc: OSError) -> bool:
    return isinstance(exc, FileExistsError) or exc.errno in (errno.EEXIST, errno.ENOTEMPTY)


def check_extra_files(extra_files: Mapping[str, bytes] | None) -> dict[str, bytes]:
    """Validate the extra files saved beside a model: plain names, bytes.

    Raises
    ------
    ConfigError
        For a name that is not a plain file name, is ``metadata.json``, ``MANIFEST.json``
        or ``spec.json`` or starts with ``model.`` or ``member-`` (the names model formats
        write), or a value that is not bytes.
    """
    if extra_files is None:
        return {}
    if not isinstance(extra_files, Mapping):
        raise ConfigError(
            f"extra_files must map file names to bytes, got {type(extra_files).__name__}"
        )
    for name, data in extra_files.items():
        if (
            not isinstance(name, str)
            or not _EXTRA_NAME.fullmatch(name)
            or name in _RESERVED_FILES
            or name.startswith(_RESERVED_PREFIXES)
        ):
            raise ConfigError(
                f"extra_files name {name!r} is invalid: use a plain file name such as "
                f"'profile.json' (letters, digits, '.', '_', '-'), not one of "
                f"{sorted(_RESERVED_FILES)} nor 'model.*' / 'member-*' (the model's own files)"
            )
        if not isinstance(data, bytes):
            raise ConfigError(
                f"extra_files[{name!r}] is {type(data).__name__}; pass bytes (e.g. text.encode())"
            )
    return dict(extra_files)


def write_version(
    model_dir: Path,
    model: Any,
    *,
    fmt: ModelFormat,
    metadata: dict[str, Any],
    extra_files: Mapping[str, bytes] | None = None,
) -> int:
    """Write ``model`` as the next version of ``model_dir`` and return its number.

    Everything goes into a hidden temp directory that is fsynced and then renamed to the
    next free number; when another process took that number first, the metadata and
    manifest are rewritten for the following one and the rename is retried. On any error
    the temp directory is removed, so no half-written version is ever visible; one left by
    a killed process is removed by the next save (see ``remove_stale_temp_dirs``).

    Parameters
    ----------
    model_dir : Path
        ``<root>/<name>``; created when missing.
    model : Any
        The fitted model.
    fmt : ModelFormat
        The format that writes it.
    metadata : dict
        JSON metadata without ``version`` (added here).
    extra_files : mapping of str to bytes, optional
        Further files written in the same temp directory and covered by the manifest
        (names checked with :func:`check_extra_files`).

    Returns
    -------
    int
        The version number taken.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_dirs(model_dir)
    with claimed_temp_dir(model_dir) as tmp:
        options = fmt.save(model, tmp)
        for extra, data in (extra_files or {}).items():
            if (tmp / extra).exists():
                raise ConfigError(
                    f"extra_files name {extra!r} clashes with a file of the {fmt.name} model "
                    f"({options.get('files')}); rename it"
                )
            (tmp / extra).write_bytes(data)
        for entry in tmp.iterdir():
            fsync_file(entry)
        versions = existing_versions(model_dir)
        version = versions[-1] + 1 if versions else 1
        for _ in range(_MAX_ATTEMPTS):
            write_file_synced(tmp / METADATA, dump_json({**metadata, "version": version}))
            write_manifest(tmp, format_name=fmt.name, options=options)
            fsync_dir(tmp)
            try:
                os.rename(tmp, model_dir / str(version))
            except OSError as exc:
                if not _collided(exc):
                    raise
                versions = existing_versions(model_dir)
                version = max(version + 1, versions[-1] + 1 if versions else 1)
                continue
            fsync_dir(model_dir)
            return version
        raise StoreError(  # pragma: no cover - only under a storm of concurrent saves
            f"could not find a free version number in {model_dir} after {_MAX_ATTEMPTS} tries"
        )
