"""Splitters: worked examples, regressions against known bugs of other libraries,
scikit-learn compatibility, the factory and bad input."""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_selection import RFECV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score

import mltrainer.cv._factory
import mltrainer.cv._kfold
from mltrainer.cv import (
    CombinatorialPurgedKFold,
    ExpandingWindowSplit,
    PurgedKFold,
    PurgedWalkForward,
    combinatorial_paths,
    make_splitter,
)
from mltrainer.exceptions import ConfigError, DataError


def daily(n: int, horizon: int | list[int] = 0, *, tz: str | None = "UTC") -> Any:
    t0 = pd.date_range("2024-01-01", periods=n, freq="D", tz=tz)
    days = np.broadcast_to(np.asarray(horizon), (n,))
    X = pd.DataFrame({"x": np.arange(n, dtype=float)}, index=t0)
    return X, pd.Series(t0 + pd.to_timedelta(days, unit="D"), index=t0)


def splits(cv: Any, X: Any) -> list[tuple[list[int], list[int]]]:
    return [(tr.tolist(), te.tolist()) for tr, te in cv.split(X)]


ALL_SPLITTERS = [
    lambda t1: PurgedKFold(4, t1=t1, embargo=1),
    lambda t1: CombinatorialPurgedKFold(5, 2, t1=t1, embargo=pd.Timedelta("1D")),
    lambda t1: PurgedWalkForward(3, t1=t1, embargo=0.05),
    lambda t1: ExpandingWindowSplit(20, 10, t1=t1),
]


# --- worked examples -------------------------------------------------------------------


def test_purged_kfold_worked_example() -> None:
    X, t1 = daily(10, 1)
    got = splits(PurgedKFold(5, t1=t1, embargo=1), X)
    assert got == [
        ([4, 5, 6, 7, 8, 9], [0, 1]),  # row 2 purged (t0 = day 2 <= max t1), row 3 embargoed
        ([0, 6, 7, 8, 9], [2, 3]),  # row 1 purged (its label reaches day 2)
        ([0, 1, 2, 8, 9], [4, 5]),
        ([0, 1, 2, 3, 4], [6, 7]),
        ([0, 1, 2, 3, 4, 5, 6], [8, 9]),  # nothing after the last fold to embargo
    ]


def test_embargo_kinds_agree_on_a_regular_grid() -> None:
    X, t1 = daily(40, 2)
    by_count = splits(PurgedKFold(4, t1=t1, embargo=3), X)
    assert splits(PurgedKFold(4, t1=t1, embargo=pd.Timedelta("3D")), X) == by_count
    assert splits(PurgedKFold(4, t1=t1, embargo="3D"), X) == by_count
    assert splits(PurgedKFold(4, t1=t1, embargo=0.075), X) == by_count  # ceil(0.075 * 40) = 3
    assert splits(PurgedKFold(4, t1=t1, embargo=0.07), X) == by_count  # ceil(2.8) = 3
    assert splits(PurgedKFold(4, t1=t1, embargo=2), X) != by_count


def test_split_info_counts_purged_and_embargoed_rows() -> None:
    X, t1 = daily(40, 2)
    info = list(PurgedKFold(4, t1=t1, embargo=3).split_with_info(X))[1]  # test rows 10..19
    assert info.test.tolist() == list(range(10, 20))
    assert info.n_purged == 4  # rows 8, 9 (labels reach day 10) and 20, 21 (t0 <= day 21)
    assert info.n_embargoed == 3  # rows 22, 23, 24
    assert info.train.tolist() == [*range(8), *range(25, 40)]


def test_panel_rows_sharing_t0_stay_together_with_a_multiindex() -> None:
    t0 = pd.date_range("2024-01-01", periods=9, freq="D", tz="UTC")
    index = pd.MultiIndex.from_product([t0, ["AAA", "BBB"]], names=["time", "symbol"])
    X = pd.DataFrame({"x": np.arange(18.0)}, index=index)
    t1 = pd.Series(index.get_level_values(0) + pd.Timedelta("1D"), index=index)
    for train, test in PurgedKFold(3, t1=t1).split(X):
        assert test.size == 6
        assert test.tolist() == list(range(test[0], test[0] + 6))
        assert not np.isin(
            X.index.get_level_values(0)[train], X.index[test].get_level_values(0)
        ).any()


def test_positions_are_time_without_a_datetime_index() -> None:
    X = np.zeros((10, 2))
    assert splits(PurgedKFold(5), X) == splits(PurgedKFold(5, embargo=0), pd.DataFrame(X))
    t1 = pd.Series(np.arange(10) + 1)  # each label ends at the next row
    got = splits(PurgedKFold(5, t1=t1, embargo=1), X)
    assert got[0] == ([4, 5, 6, 7, 8, 9], [0, 1])


def test_naive_index_is_taken_as_utc() -> None:
    X, t1 = daily(20, 1, tz=None)
    Xu, t1u = daily(20, 1, tz="UTC")
    assert splits(PurgedKFold(4, t1=t1, embargo="1D"), X) == splits(
        PurgedKFold(4, t1=t1u, embargo="1D"), Xu
    )


def test_mixed_time_units_are_compared_exactly() -> None:
    X, t1 = daily(30, 1)  # microsecond times
    almost_a_day = pd.Timedelta("1D") - pd.Timedelta(1, unit="ns")
    # labels end 1 ns after midnight: the embargo (day 10 + 1 ns, day 11] reaches row 11
    t1_ns = t1.dt.as_unit("ns") + pd.Timedelta(1, unit="ns")
    first = next(PurgedKFold(3, t1=t1_ns, embargo=almost_a_day).split_with_info(X))
    assert (first.n_purged, first.n_embargoed, first.train[0]) == (1, 1, 12)
    # labels end at midnight: the embargo (day 10, day 11 - 1 ns] stops short of row 11
    first = next(PurgedKFold(3, t1=t1, embargo=almost_a_day).split_with_info(X))
    assert (first.n_purged, first.n_embargoed, first.train[0]) == (1, 0, 11)


# --- regressions against known bugs of other libraries ------------------------------------


def test_purge_starts_at_the_first_test_decision_time_not_its_label_end() -> None:
    # mlfinlab #295 (and mlfinpy): the purge window started at the first test label's end,
    # so a training label ending between the first test t0 and t1 leaked into training.
    X, t1 = daily(10, [3, 3, 3, 1, 1, 6, 1, 1, 1, 1])
    train, test = list(PurgedKFold(2, t1=t1).split(X))[1]
    assert test.tolist() == [5, 6, 7, 8, 9]
    # rows 2 (ends day 5) and 4 (ends day 5) overlap test row 5's span [5, 11]
    assert train.tolist() == [0, 1, 3]
    assert not np.isin(test, train).any()


def test_splitters_are_stateless_across_split_calls() -> None:
    # mlfinlab's CPCV appended to its path list on every split() call
    X, t1 = daily(30, 2)
    cv = CombinatorialPurgedKFold(6, 2, t1=t1, embargo=1)
    state = dict(vars(cv))
    first, paths = splits(cv, X), cv.paths()
    assert splits(cv, X) == first
    assert splits(cv, X) == first
    np.testing.assert_array_equal(cv.paths(), paths)
    assert cv.n_paths == 5
    assert cv.get_n_splits() == 15
    assert vars(cv).keys() == state.keys()
    assert all(vars(cv)[k] is state[k] for k in state)


def test_combinatorial_yields_flat_index_arrays_accepted_by_sklearn() -> None:
    # skfolio's CPCV yields a list of test arrays, which scikit-learn consumers reject
    X, t1 = daily(60, 1)
    y = (np.arange(60) % 3 == 0).astype(int)
    cv = CombinatorialPurgedKFold(4, 2, t1=t1)
    for train, test in cv.split(X):
        assert isinstance(test, np.ndarray)
        assert test.ndim == 1
        assert test.dtype == np.intp
        assert isinstance(train, np.ndarray)
        assert train.ndim == 1
        assert train.dtype == np.intp
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv)
    assert scores.shape == (6,)
    assert next(p.tolist() for p in cv.split_paths(X)) == [0] * 30


def test_embargo_applies_to_every_block_when_the_last_group_ends_the_data() -> None:
    # timeseriescv 0.2 skipped the embargo of a block when the last test fold ended the data
    X, t1 = daily(40, 0)
    cv = CombinatorialPurgedKFold(4, 2, t1=t1, embargo=3)
    combos = [tuple(np.flatnonzero(row >= 0).tolist()) for row in cv.paths()]
    info = list(cv.split_with_info(X))[combos.index((1, 3))]  # groups 1 and 3 (the end)
    assert info.test.tolist() == [*range(10, 20), *range(30, 40)]
    assert info.train.tolist() == [*range(10), *range(23, 30)]  # rows 20..22 embargoed
    assert info.n_embargoed == 3


def test_combinatorial_paths_table() -> None:
    table = combinatorial_paths(4, 2)
    assert table.shape == (6, 4)
    assert (np.sort(table, axis=0)[-3:] == np.arange(3)[:, None]).all()  # each group: 0, 1, 2
    assert ((table >= 0).sum(axis=1) == 2).all()


# --- scikit-learn compatibility ----------------------------------------------------------


@pytest.fixture
def classification() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(7)
    n = 120
    t0 = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")
    X = pd.DataFrame(rng.normal(size=(n, 4)), index=t0, columns=list("abcd"))
    y = pd.Series((X["a"] + 0.5 * rng.normal(size=n) > 0).astype(int), index=t0)
    t1 = pd.Series(t0 + pd.Timedelta("3h"), index=t0)
    return X, y, t1


@pytest.mark.parametrize("make", ALL_SPLITTERS)
def test_cross_val_score_grid_search_and_rfecv_accept_every_splitter(
    make: Any, classification: Any
) -> None:
    X, y, t1 = classification
    cv = make(t1)
    n_splits = cv.get_n_splits(X)
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv, scoring="roc_auc")
    assert scores.shape == (n_splits,)
    assert scores.mean() > 0.7
    grid = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=cv).fit(X, y)
    assert grid.n_splits_ == n_splits
    # RFECV hands the splitter a NumPy array: time then comes from t1's index
    rfe = RFECV(LogisticRegression(), cv=cv, min_features_to_select=1).fit(X, y)
    assert rfe.support_[0]  # the informative feature survives


def test_time_series_split_stays_available_with_gap() -> None:
    cv = make_splitter("time_series", n_splits=3, gap=2, max_train_size=None)
    assert isinstance(cv, TimeSeriesSplit)
    assert cv.gap == 2
    assert cv.n_splits == 3


# --- the factory -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "cls"),
    [
        ("purged_kfold", {"n_splits": 4, "embargo": "1D"}, PurgedKFold),
        (
            "combinatorial",
            {"n_groups": 8, "n_test_groups": 3, "embargo": 0.01},
            CombinatorialPurgedKFold,
        ),
        ("walk_forward", {"n_splits": 3, "max_train_size": 50, "test_size": 10}, PurgedWalkForward),
        ("expanding", {"initial_train_size": 0.5, "step_size": 5}, ExpandingWindowSplit),
    ],
)
def test_make_splitter_builds_each_method(method: str, params: dict[str, Any], cls: Any) -> None:
    X, t1 = daily(100, 1)
    cv = make_splitter(method, t1=t1, **params)
    assert type(cv) is cls
    assert cv.t1 is t1
    for name, value in params.items():
        assert getattr(cv, name) == value
    assert len(list(cv.split(X))) == cv.get_n_splits(X)


def test_make_splitter_none_takes_the_default() -> None:
    cv = make_splitter("purged_kfold", n_splits=None, embargo=None)
    assert (cv.n_splits, cv.embargo) == (5, 0)


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("purged_kfld", {}, r"unknown method 'purged_kfld' \(did you mean 'purged_kfold'\?\)"),
        (
            "purged_kfold",
            {"n_split": 3},
            r"^cv: unknown parameter 'n_split' for purged_kfold \(did you mean 'n_splits'\?\)$",
        ),
        ("time_series", {"embargo": 2}, r"'embargo' for time_series .*use 'gap'"),
        ("expanding", {"step_size": 3}, r"expanding needs 'initial_train_size'"),
        ("combinatorial", {"n_groups": 4, "n_test_groups": 4}, r"n_test_groups=4 must be below"),
        ("purged_kfold", {"embargo": -1}, r"embargo=-1 is negative"),
        ("time_series", {"n_splits": 1}, r"cv \(time_series\):"),
    ],
)
def test_make_splitter_rejects_bad_config(method: str, params: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_splitter(method, **params)


def test_repr_and_get_params() -> None:
    _, t1 = daily(5)
    cv = PurgedKFold(3, t1=t1, embargo="2h")
    assert repr(cv) == "PurgedKFold(n_splits=3, t1=<5 label end times>, embargo='2h')"
    assert cv.get_params() == {"n_splits": 3, "t1": t1, "embargo": "2h"}


def test_docstring_examples_run() -> None:
    for module in (mltrainer.cv._kfold, mltrainer.cv._factory):
        assert doctest.testmod(module).failed == 0


# --- bad input ---------------------------------------------------------------------------


def test_unsorted_x_is_rejected_naming_the_row() -> None:
    X, t1 = daily(6)
    order = [0, 1, 3, 2, 4, 5]
    with pytest.raises(DataError, match=r"X is not sorted by time: row 3 \(2024-01-03.*sort_index"):
        list(PurgedKFold(2, t1=t1.iloc[order]).split(X.iloc[order]))


def test_t1_before_t0_is_rejected_naming_the_row() -> None:
    X, t1 = daily(20, 1)
    bad = t1.copy()
    bad.iloc[17] = pd.Timestamp("2024-01-03", tz="UTC")
    with pytest.raises(
        DataError,
        match=r"t1\[17\] \(2024-01-03 00:00:00\) is before its t0 \(2024-01-18 00:00:00\): "
        "label end times must be >= decision times",
    ):
        list(PurgedKFold(2, t1=bad).split(X))


@pytest.mark.parametrize(
    ("t1_rows", "message"),
    [
        (slice(0, 9), r"t1 has 9 rows but X has 10"),
        ([1, 0, *range(2, 10)], r"t1 is not aligned with X: at row 0"),
    ],
)
def test_misaligned_t1_is_rejected(t1_rows: Any, message: str) -> None:
    X, t1 = daily(10, 1)
    with pytest.raises(DataError, match=message):
        list(PurgedKFold(2, t1=t1.iloc[t1_rows]).split(X))


def test_missing_t1_and_wrong_dtype_are_rejected() -> None:
    X, t1 = daily(10, 1)
    gap = t1.copy()
    gap.iloc[4] = pd.NaT
    with pytest.raises(DataError, match=r"t1\[4\] is missing \(NaT\)"):
        list(PurgedKFold(2, t1=gap).split(X))
    with pytest.raises(DataError, match=r"t1 holds int64 values but X is indexed by datetimes"):
        list(PurgedKFold(2, t1=pd.Series(np.arange(10), index=X.index)).split(X))


@pytest.mark.parametrize(
    ("cv", "message"),
    [
        (PurgedKFold(11), r"n_splits=11 needs at least 11 distinct timestamps in X, got 10"),
        (CombinatorialPurgedKFold(12, 2), r"n_groups=12 needs at least 12 distinct timestamps"),
        (PurgedWalkForward(5, test_size=2), r"n_splits=5 with test_size=2 needs more than 10"),
        (ExpandingWindowSplit(10, 1), r"initial_train_size=10 leaves no test data"),
    ],
)
def test_more_splits_than_timestamps_allow(cv: Any, message: str) -> None:
    X, _ = daily(10)
    with pytest.raises(ConfigError, match=message):
        list(cv.split(X))


@pytest.mark.parametrize(
    ("embargo", "message"),
    [
        (-1, r"embargo=-1 is negative"),
        (1.5, r"embargo=1.5 is a float outside \[0, 1\)"),
        (-0.2, r"embargo=-0.2 is a float outside"),
        (True, r"embargo=True is a bool"),
        ([3], r"embargo=\[3\] is a list"),
        ("soon", r"embargo='soon' is not a time span"),
        (pd.Timedelta("-1D"), r"embargo=Timedelta\('-1 days.*is negative"),
    ],
)
def test_bad_embargo_is_rejected(embargo: Any, message: str) -> None:
    X, t1 = daily(10)
    for cv in (PurgedKFold(2, t1=t1, embargo=embargo), PurgedWalkForward(2, embargo=embargo)):
        with pytest.raises(ConfigError, match=message):
            list(cv.split(X))


def test_time_span_embargo_needs_datetimes() -> None:
    with pytest.raises(ConfigError, match=r"embargo='1D' is a time span but X has no datetime"):
        list(PurgedKFold(2, embargo="1D").split(np.zeros((10, 1))))


@pytest.mark.parametrize(
    ("cv", "message"),
    [
        (PurgedKFold(1), r"n_splits=1 is not an int >= 2"),
        (PurgedKFold(2.5), r"n_splits=2.5 is not an int >= 2"),  # type: ignore[arg-type]
        (CombinatorialPurgedKFold(5, 0), r"n_test_groups=0 is not an int >= 1"),
        (ExpandingWindowSplit(0, 1), r"initial_train_size=0 is below 1"),
        (ExpandingWindowSplit(10, 2.0), r"step_size=2.0 is a float outside \(0, 1\)"),
    ],
)
def test_bad_parameters_are_rejected(cv: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        list(cv.split(np.zeros((20, 1))))


def test_no_training_row_left_is_an_error() -> None:
    X, t1 = daily(10, 30)  # every label spans the whole data set
    with pytest.raises(DataError, match=r"split 0 of PurgedKFold has no training row left"):
        list(PurgedKFold(2, t1=t1).split(X))


def test_expanding_window_counts_splits_from_x_or_t1() -> None:
    X, t1 = daily(25)
    assert ExpandingWindowSplit(10, 4).get_n_splits(X) == 4  # tests 10-13, 14-17, 18-21, 22-24
    assert ExpandingWindowSplit(10, 4, t1=t1).get_n_splits() == 4
    with pytest.raises(ConfigError, match=r"ExpandingWindowSplit needs X \(or t1\)"):
        ExpandingWindowSplit(10, 4).get_n_splits()


def test_time_series_refuses_a_panel_where_rows_share_a_timestamp() -> None:
    from mltrainer.cv import make_splitter
    from mltrainer.exceptions import ConfigError

    times = pd.date_range("2020-01-01", periods=50, freq="D", tz="UTC").repeat(2)
    t1 = pd.Series(times + pd.Timedelta(days=5), index=times)
    with pytest.raises(ConfigError, match="walk_forward"):
        make_splitter("time_series", t1=t1, n_splits=3, gap=5)
    single = t1.iloc[::2]
    assert make_splitter("time_series", t1=single, n_splits=3, gap=5).gap == 5


# --- robustness: grid size and rolling windows ---------------------------------------------


def test_a_combinatorial_grid_too_large_is_refused_when_built() -> None:
    message = (
        r"n_groups=34 with n_test_groups=17 makes C\(34, 17\) = 2,333,606,220 splits, more "
        r"than max_splits=100,000: lower n_groups or n_test_groups, or raise max_splits"
    )
    with pytest.raises(ConfigError, match=message):
        CombinatorialPurgedKFold(34, 17)  # its first split() used to exhaust memory
    with pytest.raises(ConfigError, match=r"^n_groups=34 with n_test_groups=17 makes"):
        make_splitter("combinatorial", n_groups=34, n_test_groups=17)
    with pytest.raises(ConfigError, match=r"C\(34, 17\) = 2,333,606,220 splits"):
        combinatorial_paths(34, 17)
    with pytest.raises(ConfigError, match=r"C\(20, 10\) = 184,756 splits"):
        CombinatorialPurgedKFold(20, 10)
    wide = CombinatorialPurgedKFold(20, 10, max_splits=200_000)  # the cap is a parameter
    assert wide.get_n_splits() == 184_756
    assert make_splitter("combinatorial", n_groups=20, n_test_groups=10, max_splits=200_000)
    with pytest.raises(ConfigError, match=r"max_splits=0 is not an int >= 1"):
        CombinatorialPurgedKFold(5, 2, max_splits=0)
    changed = CombinatorialPurgedKFold(6, 2)
    changed.n_groups, changed.n_test_groups = 34, 17  # as a parameter search would set them
    with pytest.raises(ConfigError, match=r"C\(34, 17\)"):  # checked again before splitting
        next(changed.split(np.zeros((100, 1))))
    with pytest.raises(ConfigError, match=r"C\(34, 17\)"):
        changed.get_n_splits()


@pytest.mark.parametrize(
    "make",
    [
        lambda t1: PurgedWalkForward(3, t1=t1, max_train_size=4, test_size=3),
        lambda t1: ExpandingWindowSplit(10, 3, max_train_size=4, t1=t1),
    ],
)
def test_max_train_size_counts_the_rows_left_after_purging(make: Any) -> None:
    X, t1 = daily(20, 2)  # every label ends 2 bars later: the 2 rows before a test are purged
    for info in make(t1).split_with_info(X):
        first = int(info.test[0])
        assert info.train.tolist() == list(range(first - 6, first - 2))  # 4 rows, not 2
        assert info.n_purged == 2
    X0, t0 = daily(20, 0)  # no purge: the plain rolling window of TimeSeriesSplit
    reference = TimeSeriesSplit(3, max_train_size=4, test_size=3)
    assert splits(PurgedWalkForward(3, t1=t0, max_train_size=4, test_size=3), X0) == splits(
        reference, X0
    )


def test_max_train_size_keeps_distinct_times_of_a_panel() -> None:
    t0 = pd.date_range("2024-01-01", periods=12, freq="D", tz="UTC").repeat(2)
    X = pd.DataFrame({"x": np.arange(24.0)}, index=t0)
    horizon = np.tile([1, 2], 12)  # labels of the two symbols end 1 and 2 days later
    t1 = pd.Series(t0 + pd.to_timedelta(horizon, unit="D"), index=t0)
    cv = PurgedWalkForward(1, t1=t1, max_train_size=3, test_size=2)
    (info,) = cv.split_with_info(X)
    assert info.test.tolist() == list(range(20, 24))  # days 10 and 11
    # purged: both rows of day 9 and the second of day 8 (labels reach day 10); a day with
    # one row left still counts, so the 3 days trained on are 6, 7 and 8
    assert info.train.tolist() == [12, 13, 14, 15, 16]
    assert info.n_purged == 3
