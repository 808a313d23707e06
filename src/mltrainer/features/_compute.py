"""Compute a feature spec over bars of one instrument or a multi-symbol panel."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError

from ._catalogue import ResolvedFeature, resolve_spec

__all__ = ["compute_features"]

logger = logging.getLogger("mltrainer")

_BAR_COLUMNS = ("open", "high", "low", "close", "volume")


def compute_features(
    bars: pd.DataFrame, spec: Sequence[Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """Compute causal features: the value at row ``t`` uses bars at or before ``t`` only.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars indexed by a tz-aware (UTC) DatetimeIndex with float columns among ``open``,
        ``high``, ``low``, ``close``, ``volume`` (only those the spec reads are required).
        A panel also has a ``symbol`` column; rows may be in any order across symbols
        (normally sorted by timestamp, then symbol) but each symbol's timestamps must be
        strictly increasing.
    spec : sequence of mappings, optional
        Feature spec such as ``[{"name": "rsi", "window": 14}]``; ``None`` means
        :func:`default_feature_spec`.

    Returns
    -------
    pandas.DataFrame
        A new float64 frame with the same index and row order as ``bars`` and one column
        per output (see :func:`feature_columns`). Each feature is NaN during its warm-up,
        which restarts for every symbol of a panel; nothing is back-filled.

    Raises
    ------
    ConfigError
        When the spec is invalid (checked before any computation).
    DataError
        When the index is not a tz-aware DatetimeIndex, a needed column is missing or not
        numeric, a symbol is missing, or a symbol's timestamps are not strictly increasing.
    """
    features = resolve_spec(spec)
    columns = [col for feature in features for col in feature.columns]
    arrays = _read_bars(bars, features)
    n_rows = len(bars)
    out = np.full((n_rows, len(columns)), np.nan, order="F")  # column writes are contiguous
    started = time.perf_counter()
    groups = _symbol_groups(bars) if "symbol" in bars.columns else [np.arange(n_rows)]
    stamps = bars.index.asi8
    single = len(groups) == 1  # positions are then all rows, in order
    for positions in groups:
        _check_increasing(stamps[positions], positions, bars)
        sub = pd.DataFrame(
            {name: values if single else values[positions] for name, values in arrays.items()},
            index=bars.index if single else bars.index[positions],
            copy=False,
        )
        start = 0
        for feature in features:
            result = feature.definition.func(sub, **feature.params)
            if tuple(result.columns) != feature.columns:  # a catalogue bug, not a user error
                raise RuntimeError(
                    f"feature '{feature.definition.name}' returned columns "
                    f"{list(result.columns)}, expected {list(feature.columns)}"
                )
            stop = start + len(feature.columns)
            block = result.to_numpy(dtype=np.float64)
            if single:
                out[:, start:stop] = block
            else:
                out[positions, start:stop] = block
            start = stop
    logger.debug(
        "features: %d rows, %d symbols, %d columns in %.3f s",
        n_rows,
        len(groups),
        len(columns),
        time.perf_counter() - started,
    )
    return pd.DataFrame(out, index=bars.index, columns=columns, copy=False)


def _read_bars(bars: pd.DataFrame, features: list[ResolvedFeature]) -> dict[str, np.ndarray]:
    """Check the frame and return the bar columns the spec reads, as float64 arrays."""
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"bars: expected a pandas DataFrame, got {type(bars).__name__}")
    index = bars.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise DataError(
            "bars: the index must be a tz-aware UTC DatetimeIndex, got "
            f"{type(index).__name__} (tz={getattr(index, 'tz', None)}); use "
            "bars.tz_localize('UTC') or load bars with mltrainer.data"
        )
    arrays: dict[str, np.ndarray] = {}
    for name in _BAR_COLUMNS:
        users = [f.definition.name for f in features if name in f.definition.inputs]
        if not users:
            continue
        if name not in bars.columns:
            raise DataError(
                f"bars: missing column '{name}' needed by {sorted(set(users))}; add it or "
                "remove those features from the spec"
            )
        try:
            arrays[name] = bars[name].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"bars: column '{name}' is not numeric (dtype {bars[name].dtype}); "
                "convert it to float64"
            ) from exc
    return arrays


def _symbol_groups(bars: pd.DataFrame) -> list[np.ndarray]:
    """Row positions of each symbol, ascending, in order of first appearance."""
    codes, uniques = pd.factorize(bars["symbol"], use_na_sentinel=True)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise DataError(
            f"bars: column 'symbol' is missing at row {row} ({bars.index[row]}); "
            "fill or drop rows without a symbol"
        )
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]
    return np.split(order, bounds)


def _check_increasing(stamps: np.ndarray, positions: np.ndarray, bars: pd.DataFrame) -> None:
    """Raise when the timestamps of one instrument are not strictly increasing."""
    bad = np.flatnonzero(np.diff(stamps) <= 0)
    if bad.size == 0:
        return
    row = int(positions[bad[0] + 1])
    who = f", symbol {bars['symbol'].iloc[row]!r}" if "symbol" in bars.columns else ""
    raise DataError(
        f"bars: row {row} ({bars.index[row]}{who}) is not after the previous bar of its "
        "instrument; timestamps must be strictly increasing per symbol (sort by timestamp "
        "and drop duplicates)"
    )
