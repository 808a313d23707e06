"""What training saves: out-of-fold global attributions, the background and the statistics."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from mltrainer.explain import (
    BACKGROUND_FILE,
    STATS_FILE,
    Explainer,
    TrainingStats,
    load_background,
    load_stats,
    oof_attributions,
)
from mltrainer.pipeline import Plan
from mltrainer.registry import load_model

from .conftest import train_config


def test_training_stores_out_of_fold_global_attributions(trained: Any) -> None:
    root, _result = trained
    model = load_model("spx-dir", root=root / "models")
    explained = model.metadata["explain"]
    profile = explained["global"]
    assert set(profile["mean_abs"]) == set(model.feature_names)  # the saved model's features
    assert all(v >= 0 for v in profile["mean_abs"].values())
    assert max(profile["mean_abs"].values()) > 0
    assert profile["n_folds"] == 3
    assert profile["n_rows"] == 300
    assert profile["method"] == "tree"
    assert profile["space"] == "margin"
    assert profile["max_residual"] < 1e-5
    manifest = json.loads((model.path / "MANIFEST.json").read_text())
    assert {BACKGROUND_FILE, STATS_FILE} <= set(manifest["files"])  # checksummed
    assert sorted(explained["files"]) == [BACKGROUND_FILE, STATS_FILE]


def test_each_fold_model_explains_a_sample_of_its_own_test_rows(tmp_path: Any) -> None:
    plan = Plan.from_config(train_config(tmp_path))
    cv = plan.cross_validate(return_estimators=True)
    X = plan.dataset.X
    splits = list(plan.splitter.split(X))
    profile = oof_attributions(
        cv.estimators, splits, X, features=list(X.columns), rows_per_fold=50, random_state=5
    )
    rng = np.random.default_rng(5)
    total = np.zeros(X.shape[1])
    for estimator, (train, test) in zip(cv.estimators, splits, strict=True):
        rows = np.sort(rng.choice(test, size=50, replace=False))
        assert not set(rows) & set(train)  # out of fold: never a row the model was fitted on
        total += np.abs(Explainer(estimator).explain(X.iloc[rows]).values).sum(axis=0)
    expected = dict(zip(X.columns, total / (50 * len(splits)), strict=True))
    assert profile["mean_abs"] == pytest.approx(expected, rel=1e-12)


def test_training_statistics_and_background_describe_training_rows(trained: Any) -> None:
    root, _result = trained
    model = load_model("spx-dir", root=root / "models")
    stats = load_stats(model)
    plan = Plan.from_config(train_config(root))
    X = plan.dataset.X[model.feature_names]
    assert stats.features == model.feature_names
    assert stats.n_rows == len(X)
    assert np.allclose(stats.means, X.mean().to_numpy())
    assert np.allclose(stats.quartiles, np.percentile(X, [25, 50, 75], axis=0).T)
    assert "day_of_week" in stats.categorical  # few integer values
    assert "day_of_week" not in stats.bins
    assert "log_return_1" in stats.bins
    assert stats.signal_quantiles is not None
    assert stats.signal_quantiles[0] >= 0
    background = load_background(model)
    assert list(background.data.columns) == model.feature_names
    assert len(background.data) == 50
    assert np.allclose(background.weights @ background.data.to_numpy(), X.mean().to_numpy())
    again = TrainingStats.from_dict(stats.to_dict())
    assert again.bins == stats.bins
    assert np.array_equal(again.stds, stats.stds)


def test_a_model_type_without_exact_method_uses_its_folds_training_rows(
    frame: Any, targets: Any
) -> None:
    from sklearn.neighbors import KNeighborsClassifier

    y = targets["binary"]
    splits = [(np.arange(0, 200), np.arange(250, 400)), (np.arange(200, 400), np.arange(0, 150))]
    models = [KNeighborsClassifier(10).fit(frame.iloc[tr], y[tr]) for tr, _ in splits]
    profile = oof_attributions(
        models, splits, frame, features=list(frame.columns), rows_per_fold=3,
        background_size=10, max_rows=10,
    )  # fmt: skip
    assert profile["method"] == "permutation"
    assert profile["space"] == "probability"
    assert profile["n_rows"] == 6
    assert max(profile["mean_abs"].values()) > 0
