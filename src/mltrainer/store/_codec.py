"""The JSON codec shared by every backend.

NumPy scalars and arrays become Python numbers and lists, datetimes (``pd.Timestamp``
included) and ``np.datetime64`` become ISO 8601 strings; NaN and infinities round-trip the
way Python's :mod:`json` writes them. Anything else is refused before a backend is touched.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import numpy as np

from mltrainer.exceptions import StoreError

__all__ = ["decode", "encode"]


class _UnserialisableValueError(StoreError, TypeError):
    """A value cannot be stored as JSON (a ``StoreError`` that is also a ``TypeError``)."""


def _default(obj: Any) -> Any:
    """Convert the non-JSON types the project produces; raise ``TypeError`` otherwise."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.datetime64):
        return str(np.datetime_as_string(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    raise TypeError(f"Object of type {type(obj).__qualname__} is not JSON serializable")


def encode(key: str, value: Any) -> str:
    """Serialise `value` to a JSON string.

    Parameters
    ----------
    key : str
        The key, series or list the value is meant for, named in the error message.
    value : Any
        A JSON-serialisable value (NumPy and datetime values are converted).

    Returns
    -------
    str
        The JSON text.

    Raises
    ------
    StoreError
        Also a ``TypeError``: the value (or something nested in it) cannot be serialised.
    """
    try:
        return json.dumps(value, default=_default, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise _UnserialisableValueError(
            f"Cannot store value of type {type(value).__qualname__} under {key!r}: {exc}; "
            "store JSON values (dict with str keys, list, str, number, bool, None, NumPy "
            "arrays/scalars, datetimes)"
        ) from exc


def decode(text: str | bytes) -> Any:
    """Parse JSON text written by :func:`encode`."""
    return json.loads(text)
