"""Purged k-fold: contiguous test folds, training on both sides (AFML ch. 7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.cv._base import Plan, PurgedSplitter, check_int
from mltrainer.cv._times import Timeline, check_embargo
from mltrainer.exceptions import ConfigError

__all__ = ["PurgedKFold", "fold_bounds"]


def fold_bounds(n_times: int, n_folds: int, name: str = "n_splits") -> np.ndarray:
    """Split ``n_times`` distinct timestamps into ``n_folds`` contiguous folds.

    Sizes differ by at most one, the larger folds first (as ``np.array_split``).

    Returns
    -------
    ndarray of intp, shape (n_folds + 1,)
        Fold ``f`` covers distinct-time positions ``bounds[f]:bounds[f + 1]``.

    Raises
    ------
    ConfigError
        If there are fewer distinct timestamps than folds.
    """
    if n_times < n_folds:
        raise ConfigError(
            f"{name}={n_folds} needs at least {n_folds} distinct timestamps in X, got "
            f"{n_times}: lower {name} or pass more data"
        )
    sizes = np.full(n_folds, n_times // n_folds, dtype=np.intp)
    sizes[: n_times % n_folds] += 1
    return np.concatenate(([0], np.cumsum(sizes))).astype(np.intp)


class PurgedKFold(PurgedSplitter):
    """K-fold over time with purging and an embargo (Lopez de Prado, AFML ch. 7).

    The distinct decision times are cut into ``n_splits`` contiguous folds; each fold is
    tested once and the model trains on every other row that breaks neither rule:

    - purge: no training label span ``[t0_i, t1_i]`` overlaps a test label span;
    - embargo: rows whose ``t0`` lies in ``(max t1 of the fold, max t1 + embargo]`` are
      dropped, since their features may still echo the test period.

    Rows sharing a decision time (panels) always land on the same side.

    Parameters
    ----------
    n_splits : int, default 5
        Number of folds, at least 2.
    t1 : Series or None, default None
        Label end times aligned with X (same index). None means ``t1 = t0``.
    embargo : pd.Timedelta, str, int or float, default 0
        A time span (``pd.Timedelta('1D')`` or ``'1D'``), an int count of distinct
        timestamps, or a float in (0, 1): that fraction of the distinct timestamps,
        rounded up.

    Examples
    --------
    >>> import pandas as pd
    >>> t0 = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
    >>> X = pd.DataFrame({"x": range(10)}, index=t0)
    >>> t1 = pd.Series(t0 + pd.Timedelta("1D"), index=t0)
    >>> cv = PurgedKFold(n_splits=5, t1=t1, embargo=1)
    >>> train, test = next(cv.split(X))
    >>> test.tolist(), train.tolist()
    ([0, 1], [4, 5, 6, 7, 8, 9])
    """

    def __init__(self, n_splits: int = 5, *, t1: pd.Series | None = None, embargo: Any = 0):
        self.n_splits = n_splits
        self.t1 = t1
        self.embargo = embargo

    def _check_params(self) -> None:
        check_int(self.n_splits, "n_splits", minimum=2)
        check_embargo(self.embargo)

    def _plans(self, timeline: Timeline) -> Iterator[Plan]:
        bounds = fold_bounds(timeline.n_times, self.n_splits)
        for f in range(self.n_splits):
            yield Plan([(int(bounds[f]), int(bounds[f + 1]), 0)])

    def _count(self, X: Any) -> int:
        return int(self.n_splits)
