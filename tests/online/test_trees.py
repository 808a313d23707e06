"""FlatTrees: XGBoost trees as arrays give the library's outputs for one row."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from mltrainer.exceptions import ConfigError
from mltrainer.online import FlatTrees, fast_predictor
from mltrainer.online._predictor import LibraryPredictor


def _rows(n: int = 800, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    X[rng.random(X.shape) < 0.03] = np.nan  # missing values follow the default direction
    return X


def test_binary_classifier_200_trees() -> None:
    X = _rows()
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 2]) > 0).astype(int)
    model = xgb.XGBClassifier(
        n_estimators=200, max_depth=3, learning_rate=0.05, n_jobs=1, subsample=0.8
    )
    model.fit(X, y)
    trees = FlatTrees(model)
    assert trees.n_trees == 200
    rows = np.array([trees.predict_row(x) for x in X])
    np.testing.assert_allclose(rows, model.predict_proba(X), atol=1e-6)


def test_multiclass_and_uneven_depths() -> None:
    X = _rows(seed=1)
    y = np.random.default_rng(1).integers(0, 3, len(X))
    model = xgb.XGBClassifier(n_estimators=25, max_depth=5, n_jobs=1, min_child_weight=20).fit(X, y)
    trees = FlatTrees(model)
    rows = np.array([trees.predict_row(x) for x in X])
    np.testing.assert_allclose(rows, model.predict_proba(X), atol=1e-6)


def test_regressor_relative_float32() -> None:
    X = _rows(seed=2)
    target = np.nan_to_num(X[:, 1]) * 3 + np.random.default_rng(2).normal(size=len(X))
    model = xgb.XGBRegressor(n_estimators=60, max_depth=4, n_jobs=1).fit(X, target)
    trees = FlatTrees(model)
    rows = np.array([trees.predict_row(x)[0] for x in X])
    np.testing.assert_allclose(rows, model.predict(X), rtol=1e-6, atol=1e-6)
    assert isinstance(
        fast_predictor(model, [f"f{i}" for i in range(8)], classifier=False), FlatTrees
    )


def test_what_it_cannot_flatten_goes_through_the_library() -> None:
    X = _rows(seed=3)
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int)
    dart = xgb.XGBClassifier(n_estimators=5, booster="dart", n_jobs=1).fit(X, y)
    with pytest.raises(ConfigError, match="dart"):
        FlatTrees(dart)
    predictor = fast_predictor(dart, [f"f{i}" for i in range(8)], classifier=True)
    assert isinstance(predictor, LibraryPredictor)
    np.testing.assert_allclose(predictor.predict_row(X[0]), dart.predict_proba(X[:1])[0])
