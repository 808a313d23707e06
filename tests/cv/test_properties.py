"""Property tests: every splitter against a brute-force oracle of the issue's rules.

The oracle derives each split's test set independently (``np.array_split`` over the
distinct timestamps, ``itertools.combinations``, scikit-learn's ``TimeSeriesSplit``) and
the training set from the rules as written, with O(n^2) interval comparisons:

- purge: no training span [t0_i, t1_i] overlaps a test span (closed intervals);
- embargo: after each test block, no training t0 in (max t1, max t1 + embargo];
- maximality: every candidate non-test row breaking neither rule is in training;
- rolling windows (``max_train_size=m``): training is the rows of the last m distinct
  timestamps that survive purging, so purging never shrinks the window.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import TimeSeriesSplit

from mltrainer.cv import (
    CombinatorialPurgedKFold,
    ExpandingWindowSplit,
    PurgedKFold,
    PurgedWalkForward,
)
from mltrainer.exceptions import DataError

MINUTE = 60 * 10**9  # the oracle works in nanoseconds


@dataclass
class Data:
    X: pd.DataFrame
    t1: pd.Series
    t0_ns: np.ndarray  # oracle's own copy of the times
    t1_ns: np.ndarray
    time_id: np.ndarray  # distinct-time position of each row
    n_times: int
    is_datetime: bool


@st.composite
def datasets(draw: st.DrawFn) -> Data:
    """Random sorted t0 (panels: several rows per timestamp) and t1 >= t0."""
    is_datetime = draw(st.booleans())
    n_times = draw(st.integers(3, 30))
    if is_datetime:
        per_time = draw(st.lists(st.integers(1, 3), min_size=n_times, max_size=n_times))
        gaps = draw(st.lists(st.integers(1, 5), min_size=n_times, max_size=n_times))
    else:
        per_time, gaps = [1] * n_times, [1] * n_times
    time_id = np.repeat(np.arange(n_times), per_time)
    stamps = np.cumsum(gaps)[time_id]  # minutes, or positions
    n = time_id.size
    max_h = draw(st.integers(0, 25))
    horizons = np.array(draw(st.lists(st.integers(0, max_h), min_size=n, max_size=n)))
    X = pd.DataFrame({"x": np.arange(n, dtype=float)})
    if is_datetime:
        tz = draw(st.sampled_from(["UTC", None, "America/New_York"]))
        base = pd.Timestamp("2024-03-01")
        index = pd.DatetimeIndex(base + pd.to_timedelta(stamps, unit="min"))
        if tz is not None:
            index = index.tz_localize("UTC").tz_convert(tz)
        ends = index + pd.to_timedelta(horizons, unit="min")
        X.index = index
        t1 = pd.Series(ends, index=index)
        t0_ns = stamps.astype(np.int64) * MINUTE
        t1_ns = t0_ns + horizons.astype(np.int64) * MINUTE
    else:
        positions = np.arange(n)
        t1 = pd.Series(positions + horizons, index=X.index)
        t0_ns, t1_ns = positions.astype(np.int64), (positions + horizons).astype(np.int64)
    return Data(X, t1, t0_ns, t1_ns, time_id, n_times, is_datetime)


def embargoes(is_datetime: bool) -> st.SearchStrategy[Any]:
    kinds = [st.just(0), st.integers(0, 5), st.floats(0.01, 0.5)]
    if is_datetime:
        kinds.append(st.integers(0, 20).map(lambda m: pd.Timedelta(minutes=m)))
    return st.one_of(*kinds)


def embargo_upper(data: Data, m: int, embargo: Any) -> float:
    """The oracle's end of the embargo window (max t1, upper] after a block ending at m."""
    if isinstance(embargo, pd.Timedelta):
        return m + embargo.value
    count = math.ceil(round(embargo * data.n_times, 9)) if isinstance(embargo, float) else embargo
    if count == 0:
        return m
    later = np.unique(data.t0_ns[data.t0_ns > m])
    return float(later[count - 1]) if count <= later.size else math.inf


def oracle_train(
    data: Data, test: np.ndarray, candidates: np.ndarray, embargo: Any
) -> tuple[np.ndarray, int, int]:
    """Expected training rows and purge/embargo counts, from the rules as written."""
    t0, t1 = data.t0_ns, data.t1_ns
    overlap = (t0[:, None] <= t1[None, test]) & (t0[None, test] <= t1[:, None])
    purged = overlap.any(axis=1)
    embargoed = np.zeros(t0.size, dtype=bool)
    is_test = np.zeros(t0.size, dtype=bool)
    is_test[test] = True
    # test blocks: maximal runs of consecutive test rows (rows are in time order)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], is_test.astype(int), [0]))))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        m = t1[start:stop].max()
        embargoed |= (t0 > m) & (t0 <= embargo_upper(data, m, embargo))
    eligible = candidates & ~is_test
    train = np.flatnonzero(eligible & ~purged & ~embargoed)
    return (
        train,
        int(np.count_nonzero(eligible & purged)),
        int(np.count_nonzero(eligible & ~purged & embargoed)),
    )


def rows_of(data: Data, time_positions: Any) -> np.ndarray:
    return np.flatnonzero(np.isin(data.time_id, np.asarray(time_positions, dtype=int)))


def check_against_oracle(
    cv: Any, data: Data, plans: list[tuple[np.ndarray, np.ndarray]], embargo: Any
) -> list[Any]:
    """Compare every split with the oracle; return the SplitInfos (or [] if it raised)."""
    expected = [(*oracle_train(data, test, cand, embargo), test) for test, cand in plans]
    if any(train.size == 0 for train, *_ in expected):
        with pytest.raises(DataError, match="no training row left"):
            list(cv.split_with_info(data.X))
        return []
    infos = list(cv.split_with_info(data.X))
    assert len(infos) == len(plans) == cv.get_n_splits(data.X)
    for info, (train, n_purged, n_embargoed, test) in zip(infos, expected, strict=True):
        assert info.test.dtype == np.intp
        assert info.train.dtype == np.intp
        assert info.test.ndim == 1
        assert info.train.ndim == 1
        np.testing.assert_array_equal(info.test, test)
        np.testing.assert_array_equal(info.train, train)  # maximality and both rules
        assert (info.n_purged, info.n_embargoed) == (n_purged, n_embargoed)
        check_rules(data, info.train, info.test)
    # split() yields the same arrays, and a second call gives the same again (stateless)
    for _ in range(2):
        for (train, test), info in zip(cv.split(data.X), infos, strict=True):
            np.testing.assert_array_equal(train, info.train)
            np.testing.assert_array_equal(test, info.test)
    return infos


def check_rules(data: Data, train: np.ndarray, test: np.ndarray) -> None:
    """The rules checked directly on the output (independently of the oracle's sets)."""
    assert np.intersect1d(train, test).size == 0
    t0, t1 = data.t0_ns, data.t1_ns
    overlap = (t0[train, None] <= t1[None, test]) & (t0[None, test] <= t1[train, None])
    assert not overlap.any(), "a training label overlaps a test label"
    # rows sharing a decision time are never split between train and test
    test_times = np.unique(data.time_id[test])
    assert not np.isin(data.time_id[train], test_times).any()
    np.testing.assert_array_equal(np.sort(test), rows_of(data, test_times))


def rolling_candidates(
    data: Data, test: np.ndarray, start: int, max_train: int | None, embargo: Any
) -> np.ndarray:
    """Candidates of a rolling window: the last ``max_train`` timestamps left after purging."""
    candidates = data.time_id < start
    if max_train is None:
        return candidates
    survivors, *_ = oracle_train(data, test, candidates, embargo)
    times = np.unique(data.time_id[survivors])
    if times.size > max_train:
        candidates = candidates & (data.time_id >= times[-max_train])
    return candidates


def check_window(data: Data, infos: list[Any], plans: list[Any], max_train: int | None) -> None:
    """Each split trains on min(max_train, surviving) distinct timestamps."""
    if max_train is None:
        return
    for info, (test, _) in zip(infos, plans, strict=True):
        start = int(data.time_id[test].min())
        everything = data.time_id < start
        survivors, *_ = oracle_train(data, test, everything, 0)
        expected = min(max_train, np.unique(data.time_id[survivors]).size)
        assert np.unique(data.time_id[info.train]).size == expected


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=datasets(), params=st.data())
def test_purged_kfold_matches_oracle(data: Data, params: st.DataObject) -> None:
    n_splits = params.draw(st.integers(2, min(data.n_times, 8)))
    embargo = params.draw(embargoes(data.is_datetime))
    cv = PurgedKFold(n_splits, t1=data.t1, embargo=embargo)
    everything = np.ones(data.X.shape[0], dtype=bool)
    folds = np.array_split(np.arange(data.n_times), n_splits)
    plans = [(rows_of(data, f), everything) for f in folds]
    infos = check_against_oracle(cv, data, plans, embargo)
    if infos:  # test folds cover every row exactly once
        counts = np.bincount(np.concatenate([i.test for i in infos]), minlength=len(data.X))
        assert (counts == 1).all()


@SETTINGS
@given(data=datasets(), params=st.data())
def test_combinatorial_matches_oracle_and_paths_cover(data: Data, params: st.DataObject) -> None:
    n_groups = params.draw(st.integers(2, min(data.n_times, 7)))
    k = params.draw(st.integers(1, n_groups - 1))
    embargo = params.draw(embargoes(data.is_datetime))
    cv = CombinatorialPurgedKFold(n_groups, k, t1=data.t1, embargo=embargo)
    everything = np.ones(data.X.shape[0], dtype=bool)
    groups = np.array_split(np.arange(data.n_times), n_groups)
    plans = [
        (rows_of(data, np.concatenate([groups[g] for g in combo])), everything)
        for combo in itertools.combinations(range(n_groups), k)
    ]
    infos = check_against_oracle(cv, data, plans, embargo)
    if not infos:
        return
    n = len(data.X)
    tested = np.bincount(np.concatenate([i.test for i in infos]), minlength=n)
    assert (tested == math.comb(n_groups - 1, k - 1)).all()
    assert cv.n_paths == math.comb(n_groups - 1, k - 1)
    for p in range(cv.n_paths):
        rows = np.concatenate([i.test[i.test_paths == p] for i in infos])
        assert (np.bincount(rows, minlength=n) == 1).all(), f"path {p} does not cover once"
    # paths() agrees with the per-row path ids and is a fresh array each time
    table = cv.paths()
    for s, info in enumerate(infos):
        np.testing.assert_array_equal(
            np.unique(info.test_paths), np.unique(table[s][table[s] >= 0])
        )
    np.testing.assert_array_equal(table, cv.paths())


@SETTINGS
@given(data=datasets(), params=st.data())
def test_walk_forward_matches_oracle(data: Data, params: st.DataObject) -> None:
    n_splits = params.draw(st.integers(1, 4))
    test_size = params.draw(st.one_of(st.none(), st.integers(1, 3)))
    size = test_size or data.n_times // (n_splits + 1)
    if size < 1 or data.n_times - n_splits * size < 1:
        return
    max_train = params.draw(st.one_of(st.none(), st.integers(1, 10)))
    embargo = params.draw(embargoes(data.is_datetime))
    cv = PurgedWalkForward(
        n_splits, t1=data.t1, embargo=embargo, max_train_size=max_train, test_size=test_size
    )
    n = len(data.X)
    layout = []  # (train times, test times) of each split, TimeSeriesSplit's shape
    for f in range(n_splits):
        start = data.n_times - (n_splits - f) * size
        first = 0 if max_train is None else max(0, start - max_train)
        layout.append((np.arange(first, start), np.arange(start, start + size)))
    if n_splits >= 2:  # the layout is scikit-learn's, purging aside
        reference = TimeSeriesSplit(n_splits, max_train_size=max_train, test_size=size)
        for (train_times, test_times), (tr, te) in zip(
            layout, reference.split(np.arange(data.n_times)), strict=True
        ):
            np.testing.assert_array_equal(train_times, tr)
            np.testing.assert_array_equal(test_times, te)
    assert n == data.time_id.size
    plans = []
    for train_times, test_times in layout:
        test = rows_of(data, test_times)
        start = int(test_times[0])
        candidates = rolling_candidates(data, test, start, max_train, embargo)
        if max_train is None:  # the expanding window is scikit-learn's layout itself
            np.testing.assert_array_equal(candidates, np.isin(data.time_id, train_times))
        plans.append((test, candidates))
    infos = check_against_oracle(cv, data, plans, embargo)
    if infos:
        check_window(data, infos, plans, max_train)


@SETTINGS
@given(data=datasets(), params=st.data())
def test_expanding_window_matches_oracle(data: Data, params: st.DataObject) -> None:
    initial = params.draw(st.integers(1, data.n_times - 1))
    step = params.draw(st.integers(1, 5))
    max_train = params.draw(st.one_of(st.none(), st.integers(1, 10)))
    embargo = params.draw(embargoes(data.is_datetime))
    cv = ExpandingWindowSplit(initial, step, max_train_size=max_train, t1=data.t1, embargo=embargo)
    n = len(data.X)
    plans = []
    for start in range(initial, data.n_times, step):
        test = rows_of(data, range(start, min(start + step, data.n_times)))
        plans.append((test, rolling_candidates(data, test, start, max_train, embargo)))
    infos = check_against_oracle(cv, data, plans, embargo)
    if infos:
        check_window(data, infos, plans, max_train)
    if infos:  # every row after the initial window is tested exactly once
        counts = np.bincount(np.concatenate([i.test for i in infos]), minlength=n)
        np.testing.assert_array_equal(counts, (data.time_id >= initial).astype(int))
