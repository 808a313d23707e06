"""Train-before-test splitters: purged walk-forward and the expanding (or rolling) window.

Training rows always precede the test block, so only the purge rule bites: rows whose
label ends at or after the block's first decision time are dropped. The embargo only
removes rows *after* a test block, which these splitters never train on; it is accepted
(and validated) so that one ``cv`` configuration fits every method.

All sizes count distinct timestamps (rows, when every decision time is unique); a float
in (0, 1) is that fraction of the distinct timestamps, rounded up. ``max_train_size``
counts the timestamps that are *trained on*, after purging: the window reaches further
back by as many timestamps as the purge removed, so it does not shrink with the label
horizon (``max_train_size=4`` with a 2-bar horizon trains on 4 bars, not 2).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from mltrainer.cv._base import Plan, PurgedSplitter, check_int
from mltrainer.cv._times import Timeline, check_embargo, resolve_count
from mltrainer.exceptions import ConfigError

__all__ = ["ExpandingWindowSplit", "PurgedWalkForward"]


def _check_size(value: Any, name: str, *, optional: bool) -> None:
    if value is None and optional:
        return
    resolve_count(value, 1, name)  # type and range check: int >= 1 or float in (0, 1)


def _max_train(max_train_size: Any, n_times: int) -> int | None:
    if max_train_size is None:
        return None
    return resolve_count(max_train_size, n_times, "max_train_size")


class PurgedWalkForward(PurgedSplitter):
    """scikit-learn's ``TimeSeriesSplit`` shape (train strictly before test), purged.

    The last ``n_splits * test_size`` distinct timestamps are cut into ``n_splits``
    consecutive test blocks; each split trains on the timestamps before its block, minus
    rows whose label reaches the block (purged); with ``max_train_size``, on the last
    ``max_train_size`` timestamps left after purging.

    Parameters
    ----------
    n_splits : int, default 5
        Number of splits, at least 1.
    t1 : Series or None, default None
        Label end times aligned with X (same index). None means ``t1 = t0``.
    embargo : pd.Timedelta, str, int or float, default 0
        Validated like the other splitters; removes nothing here (no training after test).
    max_train_size : int, float or None, default None
        Rolling window: train on at most this many distinct timestamps before the test,
        counted after purging (the window is not shrunk by the label horizon).
    test_size : int, float or None, default None
        Distinct timestamps per test block; default ``T // (n_splits + 1)``.
    """

    def __init__(
        self,
        n_splits: int = 5,
        *,
        t1: pd.Series | None = None,
        embargo: Any = 0,
        max_train_size: int | float | None = None,
        test_size: int | float | None = None,
    ):
        self.n_splits = n_splits
        self.t1 = t1
        self.embargo = embargo
        self.max_train_size = max_train_size
        self.test_size = test_size

    def _check_params(self) -> None:
        check_int(self.n_splits, "n_splits", minimum=1)
        check_embargo(self.embargo)
        _check_size(self.max_train_size, "max_train_size", optional=True)
        _check_size(self.test_size, "test_size", optional=True)

    def _plans(self, timeline: Timeline) -> Iterator[Plan]:
        n_times = timeline.n_times
        if self.test_size is None:
            size = n_times // (self.n_splits + 1)
        else:
            size = resolve_count(self.test_size, n_times, "test_size")
        first = n_times - self.n_splits * size
        if size < 1 or first < 1:
            raise ConfigError(
                f"n_splits={self.n_splits} with test_size={self.test_size} needs more than "
                f"{self.n_splits * max(size, 1)} distinct timestamps in X, got {n_times}: "
                "lower n_splits or test_size, or pass more data"
            )
        window = _max_train(self.max_train_size, n_times)
        for f in range(self.n_splits):
            start = first + f * size
            yield Plan([(start, start + size, 0)], hi=start, max_train=window)

    def _count(self, X: Any) -> int:
        return int(self.n_splits)


class ExpandingWindowSplit(PurgedSplitter):
    """Expanding window (rolling with ``max_train_size``), purged before each test step.

    The first split trains on the first ``initial_train_size`` distinct timestamps and
    tests the next ``step_size``; each later split moves the test block ``step_size``
    further, until the data end (the last block may be shorter). Training rows whose
    label reaches the test block are purged. ``initial_train_size`` places the first test
    block, so the first window cannot reach further back: it trains on the timestamps left
    after purging. ``max_train_size`` counts timestamps after purging, as in
    :class:`PurgedWalkForward`.

    Parameters
    ----------
    initial_train_size : int or float
        Distinct timestamps in the first training window (a float in (0, 1): fraction).
    step_size : int or float
        Distinct timestamps per test block and per step forward.
    max_train_size : int, float or None, default None
        Rolling window: train on at most this many distinct timestamps before the test,
        counted after purging (the window is not shrunk by the label horizon).
    t1 : Series or None, default None
        Label end times aligned with X (same index). None means ``t1 = t0``.
    embargo : pd.Timedelta, str, int or float, default 0
        Validated like the other splitters; removes nothing here (no training after test).
    """

    def __init__(
        self,
        initial_train_size: int | float,
        step_size: int | float,
        *,
        max_train_size: int | float | None = None,
        t1: pd.Series | None = None,
        embargo: Any = 0,
    ):
        self.initial_train_size = initial_train_size
        self.step_size = step_size
        self.max_train_size = max_train_size
        self.t1 = t1
        self.embargo = embargo

    def _check_params(self) -> None:
        _check_size(self.initial_train_size, "initial_train_size", optional=False)
        _check_size(self.step_size, "step_size", optional=False)
        _check_size(self.max_train_size, "max_train_size", optional=True)
        check_embargo(self.embargo)

    def _plans(self, timeline: Timeline) -> Iterator[Plan]:
        n_times = timeline.n_times
        initial = resolve_count(self.initial_train_size, n_times, "initial_train_size")
        step = resolve_count(self.step_size, n_times, "step_size")
        if initial >= n_times:
            raise ConfigError(
                f"initial_train_size={self.initial_train_size} leaves no test data: X has "
                f"{n_times} distinct timestamps; lower initial_train_size or pass more data"
            )
        window = _max_train(self.max_train_size, n_times)
        for start in range(initial, n_times, step):
            yield Plan([(start, min(start + step, n_times), 0)], hi=start, max_train=window)
