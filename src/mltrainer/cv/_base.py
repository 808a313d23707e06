"""The thin scikit-learn cross-validator shared by every purged splitter.

A subclass says which distinct-time ranges are tested in each split (a *plan*);
this class turns plans into row indices with :func:`purge_split`. Nothing is stored
between ``split()`` calls: the same X gives the same splits every time.
"""

from __future__ import annotations

import inspect
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from mltrainer.cv._align import align_t1
from mltrainer.cv._purge import SplitInfo, block_indices, purge_split
from mltrainer.cv._times import Timeline, build_timeline, resolve_embargo
from mltrainer.exceptions import ConfigError, DataError

__all__ = ["Plan", "PurgedSplitter", "check_int"]


@dataclass(frozen=True)
class Plan:
    """The test set of one split in distinct-time units.

    Attributes
    ----------
    blocks : list of (start, stop, path)
        Half-open ranges of distinct-time positions that are tested, sorted, with the
        backtest path each range's predictions belong to.
    lo, hi : int or None
        Candidate training rows are those whose distinct-time position is in
        ``[lo, hi)``; None means all.
    max_train : int or None
        Keep only the training rows of the last ``max_train`` distinct times left *after*
        purging (a rolling window that purging does not shrink); None keeps all.
    """

    blocks: list[tuple[int, int, int]]
    lo: int = 0
    hi: int | None = None
    max_train: int | None = None


def check_int(value: Any, name: str, *, minimum: int, optional: bool = False) -> None:
    """Raise ConfigError unless ``value`` is an int >= ``minimum`` (or None if optional)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(
            f"{name}={value!r} is not an int >= {minimum}: pass an integer of at least {minimum}"
        )


def _window_start(timeline: Timeline, train: np.ndarray, max_train: int | None) -> int | None:
    """First row of the last ``max_train`` distinct times of ``train``, or None if fewer."""
    if max_train is None or train.size == 0:
        return None
    time_of = np.searchsorted(timeline.starts, train, side="right") - 1  # train is sorted
    distinct = time_of[np.flatnonzero(np.diff(time_of, prepend=-1))]
    if distinct.size <= max_train:
        return None
    return int(timeline.starts[distinct[-max_train]])


class PurgedSplitter(BaseCrossValidator):
    """Base of the purged splitters: subclasses define ``_check_params`` and ``_plans``."""

    t1: pd.Series | None
    embargo: Any

    @abstractmethod
    def _check_params(self) -> None:
        """Raise ConfigError for an invalid parameter (needs no data)."""

    @abstractmethod
    def _plans(self, timeline: Timeline) -> Iterator[Plan]:
        """Yield the test plan of each split; raise ConfigError if the data are too short."""

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """Constructor parameters, as scikit-learn estimators report them."""
        names = [
            p.name
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self"
        ]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        parts = [
            f"{name}=<{len(value)} label end times>"
            if isinstance(value, pd.Series)
            else f"{name}={value!r}"
            for name, value in self.get_params().items()
        ]
        return f"{type(self).__name__}({', '.join(parts)})"

    def _timeline(self, X: Any) -> Timeline:
        self._check_params()
        if X is None:
            if self.t1 is None:
                raise ConfigError(
                    f"{type(self).__name__} needs X (or t1) to count its splits: pass X"
                )
            X = np.empty((len(self.t1), 0))
            return build_timeline(X, self.t1)
        # an inner splitter (nested search, pipeline) sees a subset of the rows of its t1
        return build_timeline(X, align_t1(self.t1, X))

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` row positions (flat intp arrays) for each split.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows sorted by decision time (the index, when X is a frame).
        y, groups : ignored
            Present for scikit-learn compatibility.

        Yields
        ------
        train, test : ndarray of intp
        """
        for info in self._iter_splits(X, with_paths=False):
            yield info.train, info.test

    def split_with_info(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[SplitInfo]:
        """Yield a :class:`SplitInfo` (train, test, purge/embargo counts, paths) per split.

        Raises
        ------
        ConfigError
            For invalid parameters or more splits than the distinct timestamps allow.
        DataError
            For unsorted X, misaligned or invalid t1, or a split left with no training row.
        """
        yield from self._iter_splits(X, with_paths=True)

    def _iter_splits(self, X: Any, *, with_paths: bool) -> Iterator[SplitInfo]:
        timeline = self._timeline(X)
        embargo = resolve_embargo(self.embargo, timeline)
        starts, t1 = timeline.starts, timeline.t1
        block_max: dict[tuple[int, int], int] = {}  # a group is tested in many splits
        no_paths = np.empty(0, dtype=np.intp)
        for k, plan in enumerate(self._plans(timeline)):
            rows = [(int(starts[g0]), int(starts[g1])) for g0, g1, _ in plan.blocks]
            for s, e in rows:
                if (s, e) not in block_max:
                    block_max[(s, e)] = int(t1[s:e].max()) if e > s else 0
            hi = timeline.n_rows if plan.hi is None else int(starts[plan.hi])
            maxima = [block_max[r] for r in rows]
            train, n_purged, n_embargoed = purge_split(
                timeline, rows, embargo=embargo, lo=int(starts[plan.lo]), hi=hi, maxima=maxima
            )
            lo = _window_start(timeline, train, plan.max_train)
            if lo is not None:  # the window is counted after purging: cut it, count again
                train, n_purged, n_embargoed = purge_split(
                    timeline, rows, embargo=embargo, lo=lo, hi=hi, maxima=maxima
                )
            if train.size == 0:
                raise DataError(
                    f"split {k} of {type(self).__name__} has no training row left after "
                    f"purging {n_purged} and embargoing {n_embargoed} rows: use fewer splits, "
                    "a shorter embargo or label horizon (t1), or more data"
                )
            paths = no_paths
            if with_paths:
                paths = np.repeat(
                    np.array([p for _, _, p in plan.blocks], dtype=np.intp),
                    [e - s for s, e in rows],
                )
            yield SplitInfo(train, block_indices(rows), n_purged, n_embargoed, paths)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of splits ``split(X)`` yields.

        Parameters
        ----------
        X : DataFrame or array-like, optional
            Needed only by splitters whose count depends on the data length.
        y, groups : ignored
        """
        self._check_params()
        return self._count(X)

    def _count(self, X: Any) -> int:
        return sum(1 for _ in self._plans(self._timeline(X)))
