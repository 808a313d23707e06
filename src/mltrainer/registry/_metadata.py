"""What a version's ``metadata.json`` holds besides the caller's keys, and JSON conversion."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import math
import platform
import re
import subprocess
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError

# distribution names tried in order for each library recorded in metadata["versions"]
_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "scikit-learn": ("scikit-learn",),
    "xgboost": ("xgboost", "xgboost-cpu"),
    "lightgbm": ("lightgbm",),
    "skops": ("skops",),
    "mltrainer": ("mltrainer",),
}
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def to_jsonable(value: Any, *, where: str = "metadata") -> Any:
    """Convert ``value`` into plain JSON types.

    NumPy scalars and arrays become Python numbers and lists, pandas/NumPy/datetime
    timestamps become ISO-8601 strings, Series become dicts, tuples and sets become
    lists, paths become strings. NaN and +/-inf are written as ``null`` (JSON has no NaN).

    Parameters
    ----------
    value : Any
        The object to convert.
    where : str, default "metadata"
        The key path, used in the error message.

    Returns
    -------
    Any
        An object that ``json.dumps(..., allow_nan=False)`` accepts.

    Raises
    ------
    ConfigError
        If a value (or a mapping key) has a type with no JSON form.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, (pd.Timedelta, dt.timedelta, np.timedelta64)):
        return pd.Timedelta(value).isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, pd.Series):
        value = value.to_dict()
    if isinstance(value, np.ndarray):
        return [to_jsonable(item, where=f"{where}[]") for item in value.tolist()]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, (str, int, np.integer)):
                raise ConfigError(
                    f"{where} has a key {key!r} of type {type(key).__name__}; "
                    "JSON keys must be strings: convert it with str()"
                )
            out[str(key)] = to_jsonable(item, where=f"{where}[{str(key)!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item, where=f"{where}[]") for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_jsonable(item, where=f"{where}[]") for item in value), key=repr)
    raise ConfigError(
        f"{where} holds a {type(value).__module__}.{type(value).__qualname__} ({value!r:.60}) "
        "that has no JSON form; store numbers, strings, lists or dicts instead"
    )


def library_versions() -> dict[str, str | None]:
    """Return the installed versions of python and the libraries a model depends on.

    Returns
    -------
    dict of str to str or None
        ``None`` for a library that is not installed.
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for library, distributions in _DISTRIBUTIONS.items():
        versions[library] = None
        for distribution in distributions:
            try:
                versions[library] = importlib.metadata.version(distribution)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


def git_commit() -> str | None:
    """Return ``git rev-parse HEAD`` in the working directory, or None (never raises)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and _COMMIT.fullmatch(commit) else None
