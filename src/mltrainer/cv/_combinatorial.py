"""Combinatorial purged k-fold and its backtest paths (Lopez de Prado, AFML ch. 12).

The distinct decision times are cut into N contiguous groups; every choice of k test
groups is one split, C(N, k) in all. Each group is tested C(N-1, k-1) times, so the
out-of-fold predictions assemble into C(N-1, k-1) backtest paths, each covering every
row exactly once: the j-th split (in order) that tests group g contributes group g to
path j.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.cv._base import Plan, PurgedSplitter, check_int
from mltrainer.cv._kfold import fold_bounds
from mltrainer.cv._times import Timeline, check_embargo
from mltrainer.exceptions import ConfigError

__all__ = ["MAX_SPLITS", "CombinatorialPurgedKFold", "combinatorial_paths"]

#: Default cap on C(N, k): 100,000 splits already mean 100,000 model fits.
MAX_SPLITS = 100_000


def check_grid(n_groups: Any, n_test_groups: Any, max_splits: Any) -> None:
    """Refuse a grid of more than ``max_splits`` splits, before any is built.

    Values that are not valid integers are left to the full parameter check.
    """
    check_int(max_splits, "max_splits", minimum=1)
    valid = all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1
        for v in (n_groups, n_test_groups)
    )
    if not valid or n_test_groups >= n_groups:
        return
    count = math.comb(int(n_groups), int(n_test_groups))
    if count > max_splits:
        raise ConfigError(
            f"n_groups={n_groups} with n_test_groups={n_test_groups} makes C({n_groups}, "
            f"{n_test_groups}) = {count:,} splits, more than max_splits={max_splits:,}: lower "
            "n_groups or n_test_groups, or raise max_splits if you mean to fit that many models"
        )


def combinatorial_paths(
    n_groups: int, n_test_groups: int, *, max_splits: int = MAX_SPLITS
) -> np.ndarray:
    """Backtest path of every (split, group) pair.

    Parameters
    ----------
    n_groups, n_test_groups : int
        N and k.
    max_splits : int, default 100,000
        Refuse (ConfigError) when C(N, k) is larger: the table holds C(N, k) x N entries.

    Returns
    -------
    ndarray of intp, shape (C(N, k), N)
        ``paths[s, g]`` is the path that split ``s``'s predictions for group ``g`` belong
        to, or -1 where split ``s`` does not test group ``g``. Splits are in the order of
        ``itertools.combinations(range(N), k)``.
    """
    check_grid(n_groups, n_test_groups, max_splits)
    combos = np.array(list(itertools.combinations(range(n_groups), n_test_groups)), dtype=np.intp)
    tested = np.zeros((combos.shape[0], n_groups), dtype=bool)
    tested[np.arange(combos.shape[0])[:, None], combos] = True
    order = np.cumsum(tested, axis=0) - 1
    return np.where(tested, order, -1).astype(np.intp)


class CombinatorialPurgedKFold(PurgedSplitter):
    """Combinatorial purged cross-validation (CPCV, Lopez de Prado, AFML ch. 12).

    Splits the distinct decision times into ``n_groups`` contiguous groups and tests every
    combination of ``n_test_groups`` of them: ``C(n_groups, n_test_groups)`` splits.
    Training rows are purged against every test label and embargoed after every test
    block (adjacent test groups form one block). The out-of-fold predictions form
    :attr:`n_paths` backtest paths (see :meth:`paths`), a distribution of out-of-sample
    scores rather than one number.

    Parameters
    ----------
    n_groups : int, default 6
        N, at least 2.
    n_test_groups : int, default 2
        k, in [1, N - 1].
    t1 : Series or None, default None
        Label end times aligned with X (same index). None means ``t1 = t0``.
    embargo : pd.Timedelta, str, int or float, default 0
        A time span, an int count of distinct timestamps, or a float in (0, 1): that
        fraction of the distinct timestamps, rounded up.
    max_splits : int, default 100,000
        The most splits accepted: a grid with more (``C(34, 17)`` is 2.3 billion) is refused
        with a ConfigError when the splitter is built, before any split is made.

    Raises
    ------
    ConfigError
        At construction, when ``C(n_groups, n_test_groups) > max_splits``; other invalid
        parameters are reported by ``split`` and ``get_n_splits``.
    """

    def __init__(
        self,
        n_groups: int = 6,
        n_test_groups: int = 2,
        *,
        t1: pd.Series | None = None,
        embargo: Any = 0,
        max_splits: int = MAX_SPLITS,
    ):
        # Like scikit-learn's KFold, refuse at once what would exhaust memory later.
        check_grid(n_groups, n_test_groups, max_splits)
        self.n_groups = n_groups
        self.n_test_groups = n_test_groups
        self.t1 = t1
        self.embargo = embargo
        self.max_splits = max_splits

    def _check_params(self) -> None:
        check_int(self.n_groups, "n_groups", minimum=2)
        check_int(self.n_test_groups, "n_test_groups", minimum=1)
        if self.n_test_groups >= self.n_groups:
            raise ConfigError(
                f"n_test_groups={self.n_test_groups} must be below n_groups={self.n_groups}: "
                "leave at least one group to train on"
            )
        check_grid(self.n_groups, self.n_test_groups, self.max_splits)
        check_embargo(self.embargo)

    @property
    def n_paths(self) -> int:
        """Number of backtest paths, C(N-1, k-1)."""
        self._check_params()
        return math.comb(self.n_groups - 1, self.n_test_groups - 1)

    def paths(self) -> np.ndarray:
        """Path id of every (split, group) pair; -1 where the group is not tested.

        Returns
        -------
        ndarray of intp, shape (C(N, k), N)
            Rows follow the order of :meth:`split`. A fresh array on every call.
        """
        self._check_params()
        return combinatorial_paths(self.n_groups, self.n_test_groups, max_splits=self.max_splits)

    def split_paths(self, X: Any = None) -> Iterator[np.ndarray]:
        """Yield, per split, the path id of each test row (same order as ``test``)."""
        for info in self.split_with_info(X):
            yield info.test_paths

    def _plans(self, timeline: Timeline) -> Iterator[Plan]:
        bounds = fold_bounds(timeline.n_times, self.n_groups, "n_groups")
        for row in combinatorial_paths(
            self.n_groups, self.n_test_groups, max_splits=self.max_splits
        ):
            groups = np.flatnonzero(row >= 0)
            yield Plan([(int(bounds[g]), int(bounds[g + 1]), int(row[g])) for g in groups])

    def _count(self, X: Any) -> int:
        return math.comb(self.n_groups, self.n_test_groups)
