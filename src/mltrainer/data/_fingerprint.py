"""A deterministic fingerprint of bars, recorded with every trained model."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.data._schema import SYMBOL

__all__ = ["data_fingerprint"]


def data_fingerprint(bars: pd.DataFrame) -> dict[str, Any]:
    """Summarise ``bars`` with a SHA-256 of their index and values.

    The hash covers the column names, the timestamps (as UTC nanoseconds, so the datetime
    unit does not matter) and each column's values via :func:`pandas.util.hash_pandas_object`
    (a fixed key), so it is the same across runs and machines for equal data.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars as returned by :func:`load_bars` (any frame with a ``DatetimeIndex`` works).

    Returns
    -------
    dict
        ``sha256`` (hex), ``rows``, ``start``/``end`` (ISO 8601 of the first/last
        timestamp, ``None`` when empty), ``symbols`` (sorted list for a panel, else ``None``)
        and ``columns``.
    """
    columns = [str(c) for c in bars.columns]
    digest = hashlib.sha256(json.dumps(columns).encode())
    index = bars.index
    if isinstance(index, pd.DatetimeIndex):
        stamps = index.tz_convert("UTC") if index.tz is not None else index
        digest.update(stamps.as_unit("ns").asi8.astype("<i8").tobytes())
    else:
        digest.update(pd.util.hash_pandas_object(index).to_numpy().astype("<u8").tobytes())
    for col in bars.columns:
        hashed = pd.util.hash_pandas_object(bars[col], index=False)
        digest.update(hashed.to_numpy().astype("<u8").tobytes())
    empty = len(index) == 0
    return {
        "sha256": digest.hexdigest(),
        "rows": len(bars),
        "start": None if empty else pd.Timestamp(index.min()).isoformat(),
        "end": None if empty else pd.Timestamp(index.max()).isoformat(),
        "symbols": sorted(map(str, np.unique(bars[SYMBOL].astype(str))))
        if SYMBOL in bars
        else None,
        "columns": columns,
    }
