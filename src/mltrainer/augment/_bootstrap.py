"""Block bootstraps through ``arch``: block lengths and resampled row positions.

``StationaryBootstrap`` draws blocks of geometric length (mean ``block``);
``CircularBlockBootstrap`` blocks of fixed length that wrap around the end. ``block:
auto`` is the Politis-White (2004, corrected 2009) optimal length from
``arch.bootstrap.optimal_block_length``, which returns a float: the circular bootstrap
needs an int, so it is rounded (at least 1).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from mltrainer.exceptions import ConfigError

__all__ = ["BOOTSTRAP_KINDS", "block_length", "bootstrap_positions"]

BOOTSTRAP_KINDS = ("stationary", "circular")
Kind = Literal["stationary", "circular"]


def _check_kind(kind: str) -> None:
    if kind not in BOOTSTRAP_KINDS:
        raise ConfigError(
            f"augment.kind={kind!r} is unknown: choose one of {', '.join(BOOTSTRAP_KINDS)}"
        )


def block_length(series: np.ndarray, kind: str = "stationary") -> float:
    """The optimal (Politis-White) block length of ``series`` for ``kind``, at least 1.

    A constant or very short series gets 1. For ``circular`` the length is an int.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> block_length(rng.standard_normal(500), "circular") >= 1
    True
    """
    _check_kind(kind)
    values = np.asarray(series, dtype=float)
    if values.size < 10 or not np.isfinite(values).all() or np.std(values) == 0:
        return 1.0
    from arch.bootstrap import optimal_block_length

    length = float(optimal_block_length(values)[kind].iloc[0])
    if not math.isfinite(length):
        length = 1.0
    length = min(max(length, 1.0), float(values.size))
    return float(max(1, round(length))) if kind == "circular" else length


def bootstrap_positions(
    n: int,
    *,
    kind: str,
    block: float,
    n_resamples: int,
    seed: int,
) -> np.ndarray:
    """``n_resamples`` block-bootstrap resamples of the positions ``0..n-1``.

    Returns
    -------
    ndarray of int, shape (n_resamples, n)

    Examples
    --------
    >>> bootstrap_positions(6, kind="circular", block=3, n_resamples=2, seed=0).shape
    (2, 6)
    """
    _check_kind(kind)
    from arch.bootstrap import CircularBlockBootstrap, StationaryBootstrap

    positions = np.arange(n)
    rng = np.random.default_rng(seed)
    if kind == "circular":
        bs = CircularBlockBootstrap(int(max(1, round(block))), positions, seed=rng)
    else:
        bs = StationaryBootstrap(float(max(block, 1.0)), positions, seed=rng)  # type: ignore[arg-type]
    out = np.empty((n_resamples, n), dtype=np.int64)
    for k, (data, _) in enumerate(bs.bootstrap(n_resamples)):
        out[k] = data[0]
    return out
