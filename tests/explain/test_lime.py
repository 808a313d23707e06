"""LIME from saved training statistics, seeded and repeated, with its stability reported."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from lime.lime_tabular import LimeTabularExplainer

from mltrainer.exceptions import DataError, NotFoundError
from mltrainer.explain import TrainingStats, lime_explain
from mltrainer.models import make_model
from mltrainer.registry import ModelRegistry, load_model


@pytest.fixture(scope="module")
def regime() -> tuple[pd.DataFrame, Any]:
    """A model driven by f0 where f2 > 0 and by f1 where f2 <= 0."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(2000, 4)), columns=["f0", "f1", "f2", "f3"])
    X["dow"] = rng.integers(0, 5, len(X)).astype(float)
    score = np.where(X["f2"] > 0, X["f0"], X["f1"]) * 2.0
    y = (score + 0.2 * rng.normal(size=len(X)) > 0).astype(int)
    model = make_model("xgboost", "classification", {"n_estimators": 120}, random_state=0)
    return X, model.fit(X, y)


def _capture(model: Any, columns: list[str], seen: list[np.ndarray]) -> Any:
    def predict(data: np.ndarray) -> np.ndarray:
        seen.append(np.array(data))
        return np.asarray(model.predict_proba(pd.DataFrame(data, columns=columns)))

    return predict


def test_the_one_row_trap_has_no_neighbourhood_and_ours_has_the_training_one(
    regime: tuple[pd.DataFrame, Any],
) -> None:
    X, model = regime
    row = X.iloc[0].to_numpy()
    columns = list(X.columns)
    seen: list[np.ndarray] = []
    trap = LimeTabularExplainer(row.reshape(1, -1), mode="classification", random_state=0)
    result = trap.explain_instance(row, _capture(model, columns, seen), num_samples=500)
    perturbed = seen[0][1:]  # the first row LIME predicts is the row itself
    assert np.all(perturbed == perturbed[0])  # zero variance: one point, whatever the seed
    assert all(weight == 0 for _, weight in result.as_map()[1])  # so nothing is explained

    stats = TrainingStats.from_frame(X)
    recorded: list[np.ndarray] = []
    original = model.predict_proba

    class Spy:
        def __init__(self) -> None:
            self.classes_ = model.classes_
            self.feature_names_in_ = np.asarray(columns, dtype=object)

        def predict_proba(self, data: Any) -> np.ndarray:
            recorded.append(np.asarray(data, dtype=float))
            return np.asarray(original(data))

    ours = lime_explain(Spy(), X.iloc[[0]], stats=stats, num_samples=2000, repeats=1,
                        compare=False)  # fmt: skip
    neighbourhood = recorded[-1]
    continuous = [columns.index(c) for c in ("f0", "f1", "f2", "f3")]
    spread = neighbourhood[:, continuous].std(axis=0)
    assert np.all(spread > 0.5 * X.iloc[:, continuous].std().to_numpy())  # the training spread
    assert set(np.unique(neighbourhood[:, columns.index("dow")])) == set(range(5))
    assert np.abs(ours.weights).max() > 0.05
    assert ours.output == ["1"]  # a binary classifier: its positive class


def test_the_explanation_follows_the_rows_neighbours(regime: tuple[pd.DataFrame, Any]) -> None:
    X, model = regime
    rows = pd.DataFrame([[1.2, 0.0, 1.0, 0.0, 2.0], [0.0, 1.2, -1.0, 0.0, 2.0]], columns=X.columns)
    result = lime_explain(model, rows, stats=TrainingStats.from_frame(X), num_samples=3000,
                          repeats=4, random_state=3)  # fmt: skip
    weights = result.mean_weights
    assert abs(weights.at[0, "f0"]) > abs(weights.at[0, "f1"])  # f2 > 0: f0 drives
    assert abs(weights.at[1, "f1"]) > abs(weights.at[1, "f0"])  # f2 <= 0: f1 drives
    assert result.output == ["1", "1"]  # the positive class's probability


def test_stability_over_seeds_and_agreement_with_shap_are_reported(
    regime: tuple[pd.DataFrame, Any],
) -> None:
    X, model = regime
    stats = TrainingStats.from_frame(X)
    first = lime_explain(model, X.iloc[:2], stats=stats, num_samples=500, repeats=5, top_k=2)
    again = lime_explain(model, X.iloc[:2], stats=stats, num_samples=500, repeats=5, top_k=2)
    assert np.array_equal(first.weights, again.weights)  # seeded: reproducible
    assert first.weights.shape == (2, 5, 5)
    assert first.seeds == [0, 1, 2, 3, 4]
    assert np.all((first.stability >= 0) & (first.stability <= 1))
    assert np.all(first.stability_min <= first.stability)
    assert not np.array_equal(first.weights[:, 0], first.weights[:, 1])  # seeds differ
    assert len(first.shap_top[0]) == 2
    assert 0 <= first.agreement[0] <= 1
    record = first.record(0)
    assert record["repeats"] == 5
    assert record["top_k"] == 2
    assert "stability" in record


def test_one_training_row_is_refused() -> None:
    with pytest.raises(DataError, match=r"at least 2 rows.*zero variance"):
        TrainingStats.from_frame(pd.DataFrame({"a": [1.0]}))


def test_a_registered_version_needs_no_training_data(trained: Any, tmp_path: Any) -> None:
    root, _ = trained
    model = load_model("spx-dir", root=root / "models")
    from mltrainer.pipeline import load_bars_for, model_features

    X, _ = model_features(model, load_bars_for(model.metadata, "sp500", start="2018-05-01"))
    result = lime_explain(model, X.iloc[-1:], num_samples=300, repeats=3)
    assert result.weights.shape == (1, 3, len(model.feature_names))
    assert result.shap_top
    assert len(result.shap_top[0]) == 5

    old = ModelRegistry(tmp_path / "old").save(  # saved without explanation statistics
        "old", model.estimator, feature_names=model.feature_names, metadata={}
    )
    legacy = load_model("old", root=tmp_path / "old")
    with pytest.raises(NotFoundError, match=r"no explain_stats\.json.*retrain"):
        lime_explain(legacy, X.iloc[-1:])
    assert old.version == 1
