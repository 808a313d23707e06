"""LinearSGD continues scikit-learn's SGD exactly; LinearPredictor equals predict_proba."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier

from mltrainer.exceptions import ConfigError
from mltrainer.models import make_model
from mltrainer.online import LinearPredictor, LinearSGD

CASES = [
    ("classification", 2, {"learning_rate": "adaptive", "eta0": 0.01}),
    ("classification", 2, {"learning_rate": "optimal"}),
    ("classification", 2, {"learning_rate": "constant", "eta0": 0.05, "penalty": None}),
    ("classification", 3, {"learning_rate": "invscaling", "eta0": 0.1}),
    ("regression", 0, {"learning_rate": "constant", "eta0": 0.001}),
]


def _data(task: str, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, 6)) * rng.uniform(0.5, 4.0, 6) + rng.normal(size=6)
    if task == "classification":
        return X, (X @ rng.normal(size=6) > 0).astype(int) if k == 2 else rng.integers(0, k, 500)
    return X, X @ rng.normal(size=6) + rng.normal(size=500)


@pytest.mark.parametrize(("task", "k", "params"), CASES)
def test_learn_one_equals_partial_fit_row_by_row(task: str, k: int, params: dict[str, Any]) -> None:
    X, y = _data(task, k)
    model = make_model("sgd", task, params, random_state=0).fit(X[:200], y[:200])
    reference = copy.deepcopy(model)
    engine = LinearSGD(model)
    for i in range(200, 500):
        reference[-1].partial_fit(reference[0].transform(X[i : i + 1]), y[i : i + 1])
        engine.learn_one(X[i], float(y[i]))
    updated = engine.to_estimator()
    np.testing.assert_allclose(updated[-1].coef_, reference[-1].coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        updated[-1].intercept_, reference[-1].intercept_, rtol=1e-10, atol=1e-12
    )
    assert updated[-1].t_ == reference[-1].t_
    rows = np.array([engine.predict_row(x) for x in X[:50]])
    expected = (
        reference.predict_proba(X[:50])
        if task == "classification"
        else reference.predict(X[:50])[:, None]
    )
    np.testing.assert_allclose(rows, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        model[-1].coef_, LinearSGD(model).state()["w"].reshape(model[-1].coef_.shape)
    )


@pytest.mark.parametrize(("task", "k", "params"), CASES)
def test_a_batch_of_one_is_one_step_and_batches_stay_close(
    task: str, k: int, params: dict[str, Any]
) -> None:
    X, y = _data(task, k, seed=1)
    model = make_model("sgd", task, params, random_state=0).fit(X[:200], y[:200])
    one, batch, many = LinearSGD(model), LinearSGD(model), LinearSGD(model)
    for i in range(200, 260):
        one.learn_one(X[i], float(y[i]))
        batch.learn_many(X[i : i + 1], y[i : i + 1])
    np.testing.assert_allclose(
        batch.to_estimator()[-1].coef_, one.to_estimator()[-1].coef_, rtol=1e-10, atol=1e-13
    )
    assert batch.t == one.t
    many.learn_many(X[200:260], y[200:260])  # gradients at the batch's start: a small difference
    assert many.t == one.t

    def coef(engine: LinearSGD) -> np.ndarray:
        return np.asarray(engine.to_estimator()[-1].coef_)

    gap = np.abs(coef(many) - coef(one)).max()
    moved = np.abs(coef(one) - coef(LinearSGD(model))).max()
    assert gap < 0.5 * moved


def test_folded_predictor_equals_the_library() -> None:
    X, y = _data("classification", 2)
    _, y3 = _data("classification", 3)
    models = [
        make_model("logistic", "classification").fit(X, y),
        make_model("logistic", "classification").fit(X, y3),
        make_model("sgd", "classification", random_state=0).fit(X, y3),
        LogisticRegression().fit(X, y),
    ]
    for model in models:
        predictor = LinearPredictor(model)
        rows = np.array([predictor.predict_row(x) for x in X[:100]])
        np.testing.assert_allclose(rows, model.predict_proba(X[:100]), atol=1e-9)
    ridge = make_model("ridge", "regression").fit(X, X[:, 0])
    rows = np.array([LinearPredictor(ridge).predict_row(x)[0] for x in X[:100]])
    np.testing.assert_allclose(rows, ridge.predict(X[:100]), rtol=1e-9, atol=1e-12)


def test_unsupported_settings_are_named() -> None:
    X, y = _data("classification", 2)
    assert "loss='hinge'" in LinearSGD.problem(SGDClassifier(loss="hinge").fit(X, y))
    assert "penalty='l1'" in LinearSGD.problem(
        SGDClassifier(loss="log_loss", penalty="l1").fit(X, y)
    )
    assert "Ridge has no partial_fit" in LinearSGD.problem(Ridge().fit(X, y))
    with pytest.raises(ConfigError, match="average=True"):
        LinearSGD(SGDClassifier(loss="log_loss", average=True).fit(X, y))
    with pytest.raises(ConfigError, match="no probabilities"):
        LinearPredictor(SGDClassifier(loss="hinge").fit(X, y))
