"""cross_validate: fold table, out-of-fold predictions per path, weights, and the leakage demo."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, make_scorer, mean_squared_error, roc_auc_score
from sklearn.model_selection import KFold, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from xgboost import XGBClassifier

from mltrainer.cv import (
    CombinatorialPurgedKFold,
    ExpandingWindowSplit,
    PurgedKFold,
    PurgedWalkForward,
    cross_validate,
    uniqueness_weights,
)
from mltrainer.exceptions import ConfigError, DataError

FOLD_COLUMNS = [
    "fit_time",
    "score_time",
    "n_train",
    "n_test",
    "n_purged",
    "n_embargoed",
    "n_synthetic",
    "test_start",
    "test_end",
]


@pytest.fixture
def three_class() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(3)
    n = 240
    t0 = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")
    X = pd.DataFrame(rng.normal(size=(n, 3)), index=t0, columns=["a", "b", "c"])
    signal = X["a"] + 0.5 * rng.normal(size=n)
    y = pd.Series(np.where(signal > 0.5, 1, np.where(signal < -0.5, -1, 0)), index=t0)
    t1 = pd.Series(t0 + pd.Timedelta("4h"), index=t0)
    return X, y, t1


def test_fold_table_and_out_of_fold_predictions(three_class: Any) -> None:
    X, y, t1 = three_class
    cv = PurgedKFold(4, t1=t1, embargo="2h")
    result = cross_validate(LogisticRegression(), X, y, cv=cv, scoring=["accuracy", "neg_log_loss"])
    assert list(result.folds.columns) == ["split", "accuracy", "neg_log_loss", *FOLD_COLUMNS]
    assert result.folds["split"].tolist() == [0, 1, 2, 3]
    infos = list(cv.split_with_info(X))
    assert result.folds["n_train"].tolist() == [i.train.size for i in infos]
    assert result.folds["n_purged"].tolist() == [i.n_purged for i in infos]
    assert result.folds["n_embargoed"].tolist() == [i.n_embargoed for i in infos]
    assert result.folds["n_embargoed"].tolist() == [2, 2, 2, 0]
    assert result.folds["test_start"].iloc[1] == X.index[60]
    assert result.folds["test_end"].iloc[1] == X.index[119]
    # predictions: indexed like X, one path, each row once; equal to a clone fitted by hand
    assert result.predictions.index.equals(X.index)
    assert list(result.predictions.columns) == ["path_0"]
    assert result.predictions["path_0"].dtype == float
    assert not result.predictions["path_0"].isna().any()
    train, test = infos[2].train, infos[2].test
    model = clone(LogisticRegression()).fit(X.iloc[train], y.iloc[train])
    np.testing.assert_array_equal(
        result.predictions["path_0"].to_numpy()[test], model.predict(X.iloc[test])
    )
    assert result.folds["accuracy"].iloc[2] == pytest.approx(
        accuracy_score(y.iloc[test], model.predict(X.iloc[test]))
    )
    # probabilities: one column per class label, rows sum to one
    assert result.probabilities is not None
    assert list(result.probabilities.columns) == [-1, 0, 1]
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(
        result.probabilities.to_numpy()[test], model.predict_proba(X.iloc[test])
    )
    assert result.path_scores is None
    assert result.estimators is None
    summary = result.summary()
    assert set(summary) == {"accuracy", "neg_log_loss"}
    assert summary["accuracy"]["mean"] == pytest.approx(result.folds["accuracy"].mean())
    assert summary["accuracy"]["std"] == pytest.approx(result.folds["accuracy"].std(ddof=0))


def test_rows_never_tested_are_nan(three_class: Any) -> None:
    X, y, t1 = three_class
    result = cross_validate(Ridge(), X, y.astype(float), cv=ExpandingWindowSplit(100, 50, t1=t1))
    tested = result.predictions["path_0"].notna().to_numpy()
    np.testing.assert_array_equal(tested, np.arange(len(X)) >= 100)
    assert result.probabilities is None
    assert list(result.folds.columns) == ["split", "score", *FOLD_COLUMNS]
    assert (result.folds["n_purged"] == 4).all()  # the 4 rows whose 4h labels reach the test


def test_combinatorial_paths_in_predictions_probabilities_and_scores(three_class: Any) -> None:
    X, y, t1 = three_class
    cv = CombinatorialPurgedKFold(5, 2, t1=t1, embargo=0.01)
    result = cross_validate(
        LogisticRegression(), X, y, cv=cv, scoring={"acc": "accuracy", "nll": "neg_log_loss"}
    )
    assert len(result.folds) == 10
    assert list(result.predictions.columns) == [f"path_{p}" for p in range(4)]
    assert not result.predictions.isna().any().any()  # every path covers every row
    probabilities = result.probabilities
    assert probabilities is not None
    assert probabilities.columns.names == ["path", "class"]
    assert probabilities.columns.tolist()[:3] == [("path_0", -1), ("path_0", 0), ("path_0", 1)]
    scores = result.path_scores
    assert scores is not None
    assert list(scores.index) == [f"path_{p}" for p in range(4)]
    assert list(scores.columns) == ["acc", "nll"]
    for p in range(4):
        column = result.predictions[f"path_{p}"]
        assert scores.loc[f"path_{p}", "acc"] == pytest.approx(accuracy_score(y, column))
    # with equal group sizes, the mean path accuracy equals the mean split accuracy
    assert scores["acc"].mean() == pytest.approx(result.folds["acc"].mean())
    assert set(result.summary()["acc"]) == {"mean", "std", "min", "max", "path_mean", "path_std"}


def test_path_scores_need_stored_predictions_only(three_class: Any, caplog: Any) -> None:
    X, y, t1 = three_class
    binary = (y > 0).astype(int)
    cv = CombinatorialPurgedKFold(4, 2, t1=t1)
    result = cross_validate(LinearSVC(), X, binary, cv=cv, scoring=["roc_auc", "accuracy"])
    assert result.probabilities is None  # LinearSVC has no predict_proba
    scores = result.path_scores
    assert scores is not None
    assert scores["roc_auc"].isna().all()  # needs decision values, which are not stored
    assert scores["accuracy"].notna().all()
    assert "cannot score roc_auc of path_0" in caplog.text


def test_scoring_forms(three_class: Any) -> None:
    X, y, t1 = three_class
    cv = PurgedKFold(3, t1=t1)
    default = cross_validate(LogisticRegression(), X, y, cv=cv)
    by_name = cross_validate(LogisticRegression(), X, y, cv=cv, scoring="accuracy")
    np.testing.assert_allclose(default.folds["score"], by_name.folds["accuracy"])

    def custom(estimator: Any, X_: Any, y_: Any) -> float:
        return float(np.mean(estimator.predict(X_) == y_))

    mixed = cross_validate(
        LogisticRegression(),
        X,
        y,
        cv=cv,
        scoring={"mine": custom, "made": make_scorer(accuracy_score)},
    )
    np.testing.assert_allclose(mixed.folds["mine"], by_name.folds["accuracy"])
    np.testing.assert_allclose(mixed.folds["made"], by_name.folds["accuracy"])
    single = cross_validate(LogisticRegression(), X, y, cv=cv, scoring=custom)
    np.testing.assert_allclose(single.folds["score"], by_name.folds["accuracy"])
    with pytest.raises(ConfigError, match=r"scoring='acuracy' is not usable"):
        cross_validate(LogisticRegression(), X, y, cv=cv, scoring="acuracy")


class WeightRecorder(ClassifierMixin, BaseEstimator):
    """Predicts the majority class; remembers the weights it was fitted with."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> WeightRecorder:
        self.classes_ = np.unique(y)
        self.weights_ = None if sample_weight is None else np.asarray(sample_weight)
        self.majority_ = self.classes_[np.argmax([np.sum(y == c) for c in self.classes_])]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.majority_)


def test_sample_weight_reaches_fit_and_scorers(three_class: Any) -> None:
    X, y, t1 = three_class
    weight = uniqueness_weights(X.index, t1) * np.linspace(0.5, 1.5, len(X))
    cv = PurgedKFold(3, t1=t1, embargo=1)
    result = cross_validate(
        WeightRecorder(),
        X,
        y,
        cv=cv,
        scoring="accuracy",
        sample_weight=weight,
        return_estimators=True,
    )
    assert result.estimators is not None
    for info, model, score in zip(
        cv.split_with_info(X), result.estimators, result.folds["accuracy"], strict=True
    ):
        np.testing.assert_array_equal(model.weights_, weight[info.train])
        expected = accuracy_score(
            y.iloc[info.test], model.predict(X.iloc[info.test]), sample_weight=weight[info.test]
        )
        assert score == pytest.approx(expected)
    # a pipeline gets the weights on its final step
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    weighted = cross_validate(pipe, X, y, cv=cv, sample_weight=weight, return_estimators=True)
    assert weighted.estimators is not None
    with pytest.raises(ConfigError, match=r"_NoWeights.fit takes no sample_weight"):
        cross_validate(_NoWeights(), X, y, cv=cv, sample_weight=weight)


class _NoWeights(ClassifierMixin, BaseEstimator):
    def fit(self, X: Any, y: Any) -> _NoWeights:
        return self


def test_parallel_equals_sequential(three_class: Any) -> None:
    X, y, t1 = three_class
    cv = CombinatorialPurgedKFold(4, 2, t1=t1)
    one = cross_validate(LogisticRegression(), X, y, cv=cv, scoring="accuracy")
    two = cross_validate(LogisticRegression(), X, y, cv=cv, scoring="accuracy", n_jobs=2)
    pd.testing.assert_frame_equal(one.predictions, two.predictions)
    np.testing.assert_allclose(one.folds["accuracy"], two.folds["accuracy"])


def test_t1_given_to_cross_validate(three_class: Any) -> None:
    X, y, t1 = three_class
    direct = cross_validate(Ridge(), X, y, cv=PurgedKFold(3, t1=t1))
    passed = cross_validate(Ridge(), X, y, cv=PurgedKFold(3), t1=t1)
    as_int = cross_validate(Ridge(), X, y, cv=3, t1=t1)
    pd.testing.assert_frame_equal(direct.predictions, passed.predictions)
    pd.testing.assert_frame_equal(direct.predictions, as_int.predictions)
    assert (passed.folds["n_purged"] > 0).all()
    other = pd.Series(t1 + pd.Timedelta("1h"), index=X.index)
    with pytest.raises(ConfigError, match="t1 was given both"):
        cross_validate(Ridge(), X, y, cv=PurgedKFold(3, t1=t1), t1=other)


def test_any_sklearn_splitter_and_array_input(three_class: Any) -> None:
    X, y, _ = three_class
    result = cross_validate(Ridge(), X.to_numpy(), y.to_numpy(), cv=TimeSeriesSplit(3))
    assert isinstance(result.predictions.index, pd.RangeIndex)
    assert (result.folds[["n_purged", "n_embargoed"]] == 0).all().all()
    assert result.folds["test_start"].tolist() == [60, 120, 180]
    walk = cross_validate(Ridge(), X, y, cv=PurgedWalkForward(3))
    np.testing.assert_allclose(walk.folds["score"], result.folds["score"])


def test_bad_input(three_class: Any) -> None:
    X, y, t1 = three_class
    cv = PurgedKFold(3, t1=t1)
    with pytest.raises(DataError, match=r"y has 239 rows but X has 240"):
        cross_validate(Ridge(), X, y.iloc[1:], cv=cv)
    with pytest.raises(DataError, match=r"y is not aligned with X"):
        cross_validate(Ridge(), X, y.set_axis(y.index[::-1]), cv=cv)
    with pytest.raises(DataError, match=r"sample_weight has shape \(3,\) but X has 240 rows"):
        cross_validate(Ridge(), X, y, cv=cv, sample_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match=r"cv='purged' is not a splitter"):
        cross_validate(Ridge(), X, y, cv="purged")


@pytest.mark.slow
def test_leakage_demonstration_shuffled_kfold_versus_purged_kfold() -> None:
    """Overlapping 20-bar labels and slowly varying noise features: no real signal.

    Shuffled k-fold puts each test row's neighbours (same label, nearly the same
    features) in training, so XGBoost "predicts" pure noise; purging removes them.
    """
    rng = np.random.default_rng(0)
    n, h = 2000, 20
    t0 = pd.date_range("2023-01-02", periods=n, freq="h", tz="UTC")
    returns = rng.normal(size=n + h)
    forward = np.convolve(returns[1:], np.ones(h), "valid")[:n]  # sum of the next h returns
    y = pd.Series((forward > 0).astype(int), index=t0)
    shocks = rng.normal(size=(n, 5))
    features = np.zeros_like(shocks)
    for t in range(1, n):  # AR(1), phi = 0.995: slowly varying, unrelated to returns
        features[t] = 0.995 * features[t - 1] + shocks[t]
    X = pd.DataFrame(features, index=t0, columns=[f"noise_{i}" for i in range(5)])
    t1 = pd.Series(t0 + pd.Timedelta(hours=h), index=t0)
    model = XGBClassifier(n_estimators=200, max_depth=6, learning_rate=0.1, n_jobs=2)
    shuffled = cross_val_score(
        model, X, y, cv=KFold(5, shuffle=True, random_state=0), scoring="roc_auc"
    ).mean()
    purged = cross_validate(
        model, X, y, cv=PurgedKFold(5, t1=t1, embargo=h), scoring="roc_auc"
    ).summary()["roc_auc"]["mean"]
    assert shuffled > 0.85, shuffled
    assert abs(purged - 0.5) < 0.08, purged
    assert roc_auc_score(y, X["noise_0"]) < 0.6  # the features carry no signal


def test_regression_scorers_keep_sklearn_sign(three_class: Any) -> None:
    X, _y, t1 = three_class
    target = X["a"] * 2.0
    result = cross_validate(
        Ridge(), X, target, cv=PurgedKFold(3, t1=t1), scoring=["r2", "neg_mean_squared_error"]
    )
    assert (result.folds["neg_mean_squared_error"] <= 0).all()
    assert (result.folds["r2"] > 0.99).all()
    mse = mean_squared_error(target, result.predictions["path_0"])
    assert -result.folds["neg_mean_squared_error"].mean() == pytest.approx(mse, rel=0.05)


def test_on_fold_reports_every_split_in_order() -> None:
    from sklearn.linear_model import LogisticRegression

    from mltrainer.cv import PurgedKFold, cross_validate

    rng = np.random.default_rng(0)
    index = pd.date_range("2020-01-01", periods=120, freq="D", tz="UTC")
    X = pd.DataFrame(rng.normal(size=(120, 2)), index=index)
    y = pd.Series((X[0] > 0).astype(int), index=index)
    calls: list[tuple[int, int]] = []
    cross_validate(
        LogisticRegression(),
        X,
        y,
        cv=PurgedKFold(4),
        on_fold=lambda fold, total: calls.append((fold.fold, total)),
    )
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4)]
