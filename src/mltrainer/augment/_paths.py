"""Synthetic price paths: bars taken apart into per-bar moves, resampled, put back together.

A bar ``t`` (after the first) is described relative to the previous close by five
numbers: the opening gap ``log(open_t / close_{t-1})``, the body ``log(close_t /
open_t)``, the upper and lower wicks ``log(high_t / max(open_t, close_t))`` and
``log(min(open_t, close_t) / low_t)`` (both >= 0) and the change of ``log(1 + volume)``
(a change, not a level, so a resampled path has no volume jumps where blocks join).
Resampling whole rows of these moves in blocks keeps each bar's range and volume with its
return; rebuilding
from the first real close gives bars that are consistent (``low <= open, close <=
high``) by construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mltrainer.augment._bootstrap import block_length, bootstrap_positions
from mltrainer.exceptions import DataError

__all__ = [
    "MOVES",
    "bar_moves",
    "bootstrap_paths",
    "log_returns",
    "paths_frame",
    "rebuild_bars",
]

#: Columns of :func:`bar_moves`.
MOVES = ("gap", "body", "upper", "lower", "log_volume_change")

_OHLC = ("open", "high", "low", "close")


def _check_bars(bars: pd.DataFrame) -> None:
    missing = [c for c in _OHLC if c not in bars.columns]
    if missing:
        raise DataError(f"synthetic paths need OHLC bars; missing column(s) {missing}")
    if "symbol" in bars.columns and bars["symbol"].nunique() > 1:
        raise DataError(
            "synthetic paths are built for one instrument at a time; the bars hold "
            f"{bars['symbol'].nunique()} symbols: pick one with data.symbols"
        )
    if len(bars) < 3:
        raise DataError(f"synthetic paths need at least 3 bars, got {len(bars)}")


def log_returns(bars: pd.DataFrame) -> np.ndarray:
    """Close-to-close log returns of ``bars`` (one fewer than bars)."""
    return np.diff(np.log(bars["close"].to_numpy(dtype=float)))


def bar_moves(bars: pd.DataFrame) -> np.ndarray:
    """The moves of every bar after the first, shape ``(len(bars) - 1, 5)`` (see :data:`MOVES`).

    A missing ``volume`` column gives zeros.
    """
    _check_bars(bars)
    o, h, lo, c = (bars[k].to_numpy(dtype=float) for k in _OHLC)
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    volume = bars["volume"].to_numpy(dtype=float) if "volume" in bars else np.zeros(len(bars))
    log_volume = np.log1p(np.maximum(volume, 0.0))
    moves = np.column_stack(
        [
            np.log(o[1:] / c[:-1]),
            np.log(c[1:] / o[1:]),
            np.maximum(np.log(h[1:] / top[1:]), 0.0),
            np.maximum(np.log(bottom[1:] / lo[1:]), 0.0),
            np.diff(log_volume),
        ]
    )
    if not np.isfinite(moves).all():
        raise DataError("bars hold zero or negative prices; synthetic paths need positive OHLC")
    return moves


def rebuild_bars(
    moves: np.ndarray,
    *,
    first: pd.Series | dict[str, float],
    index: pd.DatetimeIndex,
) -> pd.DataFrame:
    """Bars from a first bar and the moves of the bars after it (``len(index)`` bars).

    Parameters
    ----------
    moves : ndarray, shape (len(index) - 1, 5)
        Rows of :data:`MOVES`.
    first : mapping
        The first bar's ``open``, ``high``, ``low``, ``close`` and ``volume``.
    index : DatetimeIndex
        Timestamps of the rebuilt bars.
    """
    moves = np.asarray(moves, dtype=float)
    if moves.shape != (len(index) - 1, len(MOVES)):
        raise DataError(f"moves of shape {moves.shape} do not fit {len(index)} bars")
    gap, body, upper, lower, volume_change = moves.T
    log_close = np.log(float(first["close"])) + np.concatenate([[0.0], np.cumsum(gap + body)])
    close = np.exp(log_close)
    open_ = np.concatenate([[float(first["open"])], close[:-1] * np.exp(gap)])
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = np.concatenate([[float(first["high"])], top[1:] * np.exp(upper)])
    low = np.concatenate([[float(first["low"])], bottom[1:] * np.exp(-lower)])
    first_volume = np.log1p(max(float(first.get("volume", 0.0) or 0.0), 0.0))
    vol = np.expm1(first_volume + np.concatenate([[0.0], np.cumsum(volume_change)]))
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": vol}, index=index
    )


def bootstrap_paths(
    bars: pd.DataFrame,
    n_paths: int,
    *,
    kind: str = "stationary",
    block: float | str = "auto",
    seed: int = 0,
) -> list[pd.DataFrame]:
    """``n_paths`` synthetic bar paths: the bars' moves resampled in blocks, rebuilt.

    Each path has the bars' timestamps and starts from their first bar. ``block: auto``
    is the optimal block length of the absolute log returns, so blocks keep volatility
    clustering (the returns themselves are nearly uncorrelated).

    Examples
    --------
    >>> from mltrainer.data import load_bars
    >>> bars = load_bars("sp500", start="2018-01-01")
    >>> paths = bootstrap_paths(bars, 2, block=20, seed=0)
    >>> [len(p) == len(bars) for p in paths]
    [True, True]
    >>> bool((paths[0]["high"] >= paths[0][["open", "close"]].max(axis=1)).all())
    True
    """
    moves = bar_moves(bars)
    length = resolve_block(moves, kind, block)
    positions = bootstrap_positions(
        moves.shape[0], kind=kind, block=length, n_resamples=n_paths, seed=seed
    )
    first = bars.iloc[0]
    index = pd.DatetimeIndex(bars.index)
    return [rebuild_bars(moves[p], first=first, index=index) for p in positions]


def resolve_block(moves: np.ndarray, kind: str, block: float | str) -> float:
    """``block`` as a length: ``auto`` = optimal length of ``|gap + body|``."""
    if block == "auto":
        return block_length(np.abs(moves[:, 0] + moves[:, 1]), kind)
    return float(block)


def paths_frame(paths: list[pd.DataFrame], *, extra: dict[str, Any] | None = None) -> pd.DataFrame:
    """Paths stacked in long form: ``path``, ``timestamp`` and the bar columns."""
    frames = []
    for k, path in enumerate(paths):
        frame = path.rename_axis("timestamp").reset_index()
        frame.insert(0, "path", k)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    for key, value in (extra or {}).items():
        out[key] = value
    return out
