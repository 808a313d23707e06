"""Tests of mltrainer.models._composite: AveragingComposite and the Composite protocol."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mltrainer.exceptions import ConfigError
from mltrainer.models import COMPOSITES, AveragingComposite, Composite, check_member_name

COLUMNS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(150, 3)), columns=COLUMNS)
    y = (X["a"] + 0.5 * X["c"] + 0.3 * rng.normal(size=150) > 0).astype(int).to_numpy()
    reg = X["a"].to_numpy() - X["b"].to_numpy() + 0.1 * rng.normal(size=150)
    return X, y, reg


@parametrize_with_checks(
    [
        AveragingComposite([("lr", LogisticRegression()), ("lr2", LogisticRegression(C=0.1))]),
        AveragingComposite([("r", Ridge()), ("r2", Ridge(alpha=10.0))], weights=[2, 1]),
    ]
)
def test_scikit_learn_conventions(estimator: Any, check: Any) -> None:
    check(estimator)


def test_classifier_is_the_weighted_mean_of_member_probabilities(
    frame: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    X, y, _ = frame
    composite = AveragingComposite(
        [
            ("ac", LogisticRegression()),
            ("b", make_pipeline(StandardScaler(), LogisticRegression())),
        ],
        weights=[3, 1],
        features={"ac": ["a", "c"], "b": ["b"]},
    ).fit(X, y)
    first = LogisticRegression().fit(X[["a", "c"]], y)
    second = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[["b"]], y)
    expected = 0.75 * first.predict_proba(X[["a", "c"]]) + 0.25 * second.predict_proba(X[["b"]])
    np.testing.assert_allclose(composite.predict_proba(X), expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(composite.predict(X), np.argmax(expected, axis=1))
    np.testing.assert_array_equal(composite.classes_, [0, 1])
    assert composite.member_features_ == {"ac": ["a", "c"], "b": ["b"]}
    assert list(composite.feature_names_in_) == COLUMNS
    assert isinstance(composite, Composite)
    # a member fitted on its columns sees only them
    assert list(composite.named_estimators_["ac"].feature_names_in_) == ["a", "c"]


def test_regressor_is_the_weighted_mean_of_member_predictions(
    frame: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    X, _, reg = frame
    composite = AveragingComposite(
        [("ab", Ridge()), ("all", Ridge(alpha=5.0))], features={"ab": ["a", "b"]}
    ).fit(X, reg)
    expected = 0.5 * Ridge().fit(X[["a", "b"]], reg).predict(X[["a", "b"]]) + 0.5 * Ridge(
        alpha=5.0
    ).fit(X, reg).predict(X)
    np.testing.assert_allclose(composite.predict(X), expected, rtol=0, atol=1e-12)
    assert not hasattr(composite, "predict_proba")
    assert not hasattr(composite, "classes_")


def test_sample_weight_reaches_every_member_and_pipelines_final_step(
    frame: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    X, y, _ = frame
    weight = np.where(np.arange(len(y)) % 2 == 0, 5.0, 0.2)
    members = [("lr", LogisticRegression()), ("pipe", make_pipeline(StandardScaler(), Ridge()))]
    with pytest.raises(ConfigError, match="all classifiers or all regressors"):
        AveragingComposite(members).fit(X, y)
    composite = AveragingComposite(
        [
            ("lr", LogisticRegression()),
            ("pipe", make_pipeline(StandardScaler(), LogisticRegression())),
        ]
    ).fit(X, y, sample_weight=weight)
    alone = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        X, y, logisticregression__sample_weight=weight
    )
    np.testing.assert_allclose(
        composite.named_estimators_["pipe"].predict_proba(X), alone.predict_proba(X)
    )
    unweighted = AveragingComposite([("lr", LogisticRegression())]).fit(X, y)
    assert not np.allclose(
        composite.named_estimators_["lr"].coef_, unweighted.named_estimators_["lr"].coef_
    )


def test_frozen_members_are_used_as_fitted(
    frame: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    X, y, _ = frame
    fitted = LogisticRegression(C=0.01).fit(X, y)
    composite = AveragingComposite([("old", FrozenEstimator(fitted))]).fit(X.iloc[:20], y[:20])
    assert composite.composite_members()["old"] is fitted
    np.testing.assert_array_equal(composite.predict_proba(X), fitted.predict_proba(X))


def test_protocol_round_trip_rebuilds_an_equal_model(
    frame: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    X, y, _ = frame
    composite = AveragingComposite(
        [("a", LogisticRegression()), ("bc", LogisticRegression())],
        weights=[1, 3],
        features={"a": ["a"], "bc": ["b", "c"]},
    ).fit(X, y)
    spec = composite.composite_spec()
    assert spec == {
        "task": "classifier",
        "weights": [0.25, 0.75],
        "features": {"a": ["a"], "bc": ["b", "c"]},
        "n_features_in": 3,
        "feature_names_in": COLUMNS,
        "classes": [0, 1],
    }
    rebuilt = AveragingComposite.from_composite(spec, composite.composite_members())
    np.testing.assert_array_equal(rebuilt.predict_proba(X), composite.predict_proba(X))
    assert rebuilt.composite_features() == composite.composite_features()
    with pytest.raises(ConfigError, match="classes"):
        AveragingComposite.from_composite(
            {**spec, "classes": [1, 2]}, composite.composite_members()
        )
    with pytest.raises(ConfigError, match="does not describe"):
        AveragingComposite.from_composite(spec, {"a": composite.composite_members()["a"]})
    assert COMPOSITES["averaging"] is AveragingComposite


def test_bad_settings_get_one_line_errors(
    frame: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    X, y, _ = frame
    lr = LogisticRegression()
    cases: list[tuple[AveragingComposite, Any, str]] = [
        (AveragingComposite([]), X, "empty"),
        (AveragingComposite([("a", lr), ("a", lr)]), X, "repeats member name"),
        (AveragingComposite([("a.b", lr)]), X, "invalid composite member name"),
        (AveragingComposite([("a", lr)], weights=[1, 2]), X, "list of 1 numbers"),
        (AveragingComposite([("a", lr), ("b", lr)], weights=[0, 0]), X, "not all zero"),
        (AveragingComposite([("a", lr)], features={"z": ["a"]}), X, r"member\(s\) \['z'\]"),
        (AveragingComposite([("a", lr)], features={"a": ["nope"]}), X, "missing from X"),
        (AveragingComposite([("a", lr)], features={"a": ["a"]}), X.to_numpy(), "DataFrame"),
    ]
    for composite, data, message in cases:
        with pytest.raises(ConfigError, match=message):
            clone(composite).fit(data, y)
    ternary = np.digitize(X["a"].to_numpy(), [-0.5, 0.5])
    different = AveragingComposite(
        [("a", FrozenEstimator(LogisticRegression().fit(X, y))), ("b", LogisticRegression())]
    )
    with pytest.raises(ConfigError, match="different classes_"):
        different.fit(X, ternary)
    for bad in ("", "a/b", "..", "-x", 3):
        with pytest.raises(ConfigError, match="invalid composite member name"):
            check_member_name(bad)
