"""The one fold loop: a resampler sees training rows only, outputs are predicted once, nested
searches realign t1, weights reach every step that takes them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mltrainer.cv import (
    CombinatorialPurgedKFold,
    PurgedKFold,
    PurgedWalkForward,
    TrainingRows,
    cross_validate,
    fit_params,
)
from mltrainer.exceptions import ConfigError, DataError


def _data(n: int = 300, horizon: int = 3, seed: int = 0) -> tuple[Any, Any, pd.Series]:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    X = pd.DataFrame(rng.normal(size=(n, 3)), index=index, columns=["a", "b", "c"])
    y = pd.Series((X["a"] + rng.normal(size=n) > 0).astype(int), index=index)
    t1 = pd.Series(index + pd.Timedelta(days=horizon), index=index)
    return X, y, t1


class SpyUndersampler:
    """Random undersampling of the majority class; records every row it was handed."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.seen: dict[int, pd.DatetimeIndex] = {}

    def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
        self.seen[fold] = rows.X.index
        y = np.asarray(rows.y)
        counts = np.bincount(y)
        keep_n = counts.min()
        rng = np.random.default_rng(self.seed + fold)
        keep = np.sort(
            np.concatenate(
                [rng.choice(np.flatnonzero(y == c), keep_n, replace=False) for c in (0, 1)]
            )
        )
        return TrainingRows(
            rows.X.iloc[keep],
            rows.y.iloc[keep],
            None if rows.sample_weight is None else rows.sample_weight[keep],
            None if rows.t1 is None else rows.t1.iloc[keep],
        )


@pytest.mark.parametrize(
    "splitter",
    [PurgedKFold(4, embargo=2), CombinatorialPurgedKFold(5, 2, embargo=2), PurgedWalkForward(4)],
    ids=["kfold", "cpcv", "walk_forward"],
)
def test_resampler_sees_exactly_the_purged_training_rows(splitter: Any) -> None:
    X, y, t1 = _data()
    spy = SpyUndersampler()
    splitter = type(splitter)(**{**splitter.get_params(), "t1": t1})
    result = cross_validate(LogisticRegression(), X, y, cv=splitter, t1=t1, resampler=spy)
    infos = list(splitter.split_with_info(X))
    assert sorted(spy.seen) == list(range(len(infos)))
    for k, info in enumerate(infos):
        # the resampler was handed the purged, embargoed training rows, nothing else
        assert spy.seen[k].equals(X.index[info.train])
        assert not spy.seen[k].isin(X.index[info.test]).any()
    assert result.predictions["path_0"].notna().sum() > 0


def test_resampler_rows_may_not_reach_into_a_test_span() -> None:
    X, y, t1 = _data()

    class Leaky:
        def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
            # a synthetic row whose label ends far in the future (inside some test fold)
            long_t1 = rows.t1.copy()
            long_t1.iloc[0] = rows.t1.iloc[-1] + pd.Timedelta(days=400)
            return replace(rows, t1=long_t1)

    with pytest.raises(DataError, match="overlaps a test label span"):
        cross_validate(LogisticRegression(), X, y, cv=PurgedKFold(3, t1=t1), resampler=Leaky())


def test_resampler_that_drops_weights_or_misaligns_is_refused() -> None:
    X, y, t1 = _data()
    w = np.ones(len(X))

    class DropsWeights:
        def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
            return replace(rows, sample_weight=None)

    class Short:
        def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
            return replace(rows, y=rows.y.iloc[1:])

    with pytest.raises(DataError, match="dropped the sample weights"):
        cross_validate(
            LogisticRegression(),
            X,
            y,
            cv=PurgedKFold(3, t1=t1),
            sample_weight=w,
            resampler=DropsWeights(),
        )
    with pytest.raises(DataError, match="rows of X but"):
        cross_validate(LogisticRegression(), X, y, cv=PurgedKFold(3, t1=t1), resampler=Short())


class CountingClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression that counts prediction calls (class attribute, one process)."""

    calls: dict[str, int] = {}  # noqa: RUF012

    def fit(self, X: Any, y: Any) -> CountingClassifier:
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X: Any) -> np.ndarray:
        type(self).calls["predict"] = type(self).calls.get("predict", 0) + 1
        return self.model_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        type(self).calls["predict_proba"] = type(self).calls.get("predict_proba", 0) + 1
        return self.model_.predict_proba(X)


def test_each_test_fold_is_predicted_once_for_every_scorer() -> None:
    X, y, t1 = _data()
    CountingClassifier.calls = {}
    scoring = ["roc_auc", "accuracy", "neg_log_loss", "neg_brier_score"]
    result = cross_validate(CountingClassifier(), X, y, cv=PurgedKFold(4, t1=t1), scoring=scoring)
    assert CountingClassifier.calls == {"predict": 4, "predict_proba": 4}
    assert set(scoring) <= set(result.folds.columns)


def test_nested_search_with_purged_splitters_realigns_t1() -> None:
    X, y, t1 = _data(n=200)
    inner = GridSearchCV(
        LogisticRegression(), {"C": [0.1, 1.0]}, cv=PurgedKFold(3, t1=t1, embargo=2)
    )
    scores = cross_val_score(inner, X, y, cv=PurgedKFold(3, t1=t1, embargo=2))
    assert scores.shape == (3,)
    assert np.isfinite(scores).all()


def test_inner_splitter_purges_with_the_subset_of_t1() -> None:
    X, _, t1 = _data(n=60, horizon=5)
    subset = X.iloc[10:50]
    splitter = PurgedKFold(2, t1=t1)
    for train, test in splitter.split(subset):
        spans_test = (subset.index[test].min(), t1.loc[subset.index[test]].max())
        train_t0 = subset.index[train]
        train_t1 = t1.loc[train_t0]
        overlaps = (train_t0 <= spans_test[1]) & (train_t1.to_numpy() >= spans_test[0])
        assert not overlaps.any()


def test_two_different_t1_are_refused() -> None:
    X, y, t1 = _data()
    other = t1 + pd.Timedelta(days=1)
    with pytest.raises(ConfigError, match="t1 was given both"):
        cross_validate(LogisticRegression(), X, y, cv=PurgedKFold(3, t1=t1), t1=other)


def test_weights_reach_every_step_that_takes_them() -> None:
    pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())])
    routed = fit_params(pipe, np.ones(3))
    assert sorted(routed) == ["model__sample_weight", "scale__sample_weight"]
    nested = Pipeline([("outer", pipe)])
    assert sorted(fit_params(nested, np.ones(3))) == [
        "outer__model__sample_weight",
        "outer__scale__sample_weight",
    ]

    class NoWeights(LogisticRegression):
        def fit(self, X: Any, y: Any) -> Any:  # type: ignore[override]
            return super().fit(X, y)

    with pytest.raises(ConfigError, match="takes no sample_weight"):
        fit_params(NoWeights(), np.ones(3))
