"""Exact attributions: equal to shap's explainers, additive on every catalogue model type."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.pipeline import Pipeline

from mltrainer.exceptions import ConfigError, SchemaError
from mltrainer.explain import Explainer, explain
from mltrainer.models import MODEL_CATALOGUE, make_model
from mltrainer.selection import SelectByImportance

_SMALL = {"xgboost": {"n_estimators": 40}, "lightgbm": {"n_estimators": 40},
          "random_forest": {"n_estimators": 30}}  # fmt: skip


def _fit(name: str, task: str, frame: pd.DataFrame, y: np.ndarray) -> Any:
    return make_model(name, task, _SMALL.get(name, {}), random_state=0).fit(frame, y)


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for name, entry in MODEL_CATALOGUE.items():
        for task in entry.tasks:
            kinds = ["binary", "multiclass"] if task == "classification" else ["regression"]
            cases += [(name, task, kind) for kind in kinds]
    return cases


@pytest.mark.parametrize(("name", "task", "kind"), _cases())
def test_additivity_on_every_catalogue_model_type(
    name: str, task: str, kind: str, frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = _fit(name, task, frame, targets[kind])
    result = explain(model, frame.iloc[:60])
    assert result.method in ("tree", "linear")  # every catalogue type has an exact path
    assert result.max_residual < 1e-6  # trees and linear models: exactly additive
    assert result.additive
    n_outputs = 3 if kind == "multiclass" else 1
    assert result.contributions.shape == (60, frame.shape[1], n_outputs)
    # the output is the model's own, not the sum of the contributions
    if task == "regression":
        assert np.allclose(result.output_values, model.predict(frame.iloc[:60]), atol=1e-5)
    else:
        assert result.space in ("margin", "probability")
        assert np.allclose(result.probabilities, model.predict_proba(frame.iloc[:60]))


@pytest.mark.filterwarnings("ignore:LightGBM binary classifier with TreeExplainer:UserWarning")
@pytest.mark.parametrize("name", ["xgboost", "lightgbm", "random_forest"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_trees_equal_shap_tree_explainer(
    name: str, kind: str, frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    task = "regression" if kind == "regression" else "classification"
    model = _fit(name, task, frame, targets[kind])
    rows = frame.iloc[:80]
    ours = explain(model, rows)
    peer = shap.TreeExplainer(model)
    values = np.asarray(peer.shap_values(rows, check_additivity=False))
    expected = np.atleast_1d(peer.expected_value)
    if values.ndim == 2:
        values = values[..., None]
    if kind == "binary" and values.shape[-1] == 2:  # forests give both classes
        values, expected = values[..., 1:], expected[1:]
    assert np.abs(ours.contributions - values).max() < 1e-6
    assert np.abs(ours.base[0] - expected).max() < 1e-6


def test_tree_interactions_sum_to_the_contributions(
    frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = _fit("xgboost", "classification", frame, targets["binary"])
    result = explain(model, frame.iloc[:20], interactions=True)
    assert result.interactions is not None
    assert result.interactions.shape == (20, frame.shape[1], frame.shape[1], 1)
    assert np.abs(result.interactions.sum(axis=2) - result.contributions).max() < 1e-5
    f1, f2 = frame.columns.get_loc("f1"), frame.columns.get_loc("f2")
    off = np.abs(result.interactions[:, f1, f2, 0]).mean()
    assert off > np.abs(result.interactions[:, f1, frame.columns.get_loc("dow"), 0]).mean()


@pytest.mark.parametrize(
    ("name", "task", "kind"),
    [("logistic", "classification", "binary"), ("logistic", "classification", "multiclass"),
     ("ridge", "regression", "regression"), ("sgd", "classification", "binary"),
     ("sgd", "regression", "regression")],
)  # fmt: skip
def test_linear_models_equal_shap_linear_explainer_through_their_scalers(
    name: str, task: str, kind: str, frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = _fit(name, task, frame, targets[kind])
    scaler, final = model.steps[0][1], model.steps[-1][1]
    scaled = scaler.transform(frame)
    peer = shap.LinearExplainer(final, shap.maskers.Independent(scaled, max_samples=len(frame)))
    values = np.asarray(peer.shap_values(scaled[:50]))
    if values.ndim == 2:
        values = values[..., None]
    ours = explain(model, frame.iloc[:50])
    assert ours.method == "linear"
    assert ours.space == ("margin" if task != "regression" else "raw")
    assert np.abs(ours.contributions - values).max() < 1e-9  # in the input features' terms
    assert np.abs(ours.base[0] - np.atleast_1d(peer.expected_value)).max() < 1e-9


def test_contributions_map_to_the_features_the_model_saw(
    frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    selector = SelectByImportance(
        make_model("xgboost", "classification", {"n_estimators": 20}), method="gain", top_k=3
    ).set_output(transform="pandas")
    for name in ("xgboost", "logistic"):
        model = make_model(name, "classification", _SMALL.get(name, {}))
        steps = list(model.steps) if isinstance(model, Pipeline) else [("model", model)]
        pipeline = Pipeline([("select", selector), *steps]).fit(frame, targets["binary"])
        chosen = list(pipeline.steps[0][1].selected_features_)
        result = explain(pipeline, frame.iloc[:30])
        assert result.feature_names == [c for c in frame.columns if c in chosen]
        assert result.max_residual < 1e-6


def test_fast_single_row_tables_equal_the_boosters(frame: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    data = frame.copy()
    data.iloc[::7, 1] = np.nan  # missing values follow each split's default direction
    data.iloc[::11, 2] = 0.0
    y = (data["f0"].fillna(0) + rng.normal(size=len(data)) > 0).astype(int)
    for name, params in (("xgboost", {"n_estimators": 60, "max_depth": 4}),
                         ("lightgbm", {"n_estimators": 60, "num_leaves": 15})):  # fmt: skip
        model = make_model(name, "classification", params, random_state=0).fit(data, y)
        fast = Explainer(model, fast=True)
        fast.explain(data.iloc[:64])  # builds and checks the tables on these rows
        assert fast.methods["model"].fast is not None
        native = Explainer(model)
        for start in range(64, 160, 8):
            rows = data.iloc[start : start + 1]
            a, b = fast.explain(rows), native.explain(rows)
            assert np.abs(a.contributions - b.contributions).max() < 1e-5
            assert np.abs(a.output - b.output).max() < 1e-5
            assert a.max_residual < 1e-9  # the traversal's margin, independent of the tables


def test_missing_feature_is_named(frame: pd.DataFrame, targets: dict[str, np.ndarray]) -> None:
    model = _fit("logistic", "classification", frame, targets["binary"])
    with pytest.raises(SchemaError, match="lacks feature 'f3'"):
        explain(model, frame.drop(columns=["f3"]))
    with pytest.raises(SchemaError, match="DataFrame"):
        explain(model, frame.to_numpy())


def test_methods_are_listed_when_one_does_not_apply(
    frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = _fit("logistic", "classification", frame, targets["binary"])
    with pytest.raises(ConfigError, match=r"method='tree' does not apply to LogisticRegression"):
        Explainer(model, method="tree")
    with pytest.raises(ConfigError, match=r"unknown explanation method 'treee'.*did you mean"):
        Explainer(model, method="treee")
    with pytest.raises(ConfigError, match=r"cannot explain object.*tree .*linear.*permutation"):
        Explainer(object())
    with pytest.raises(ConfigError, match="needs training rows: pass background="):
        Explainer(model, method="permutation")
