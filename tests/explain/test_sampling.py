"""The permutation and kernel explainers: probability space, training background, budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsClassifier

from mltrainer.exceptions import ConfigError
from mltrainer.explain import Background, Explainer, background_from_frame, explain
from mltrainer.models import make_model


def test_background_is_a_weighted_kmeans_summary_of_training_rows(frame: pd.DataFrame) -> None:
    background = background_from_frame(frame, size=20, random_state=0)
    assert list(background.data.columns) == list(frame.columns)
    assert len(background.data) <= 20
    assert background.weights.sum() == pytest.approx(1.0)
    # the weighted centroids keep the training mean
    mean = background.weights @ background.data.to_numpy()
    assert np.allclose(mean, frame.mean().to_numpy(), atol=1e-9)
    again = Background.from_dict(background.to_dict())
    assert again.data.equals(background.data)
    assert np.array_equal(again.weights, background.weights)


def test_permutation_equals_the_exact_values_of_a_linear_model(frame: pd.DataFrame) -> None:
    # with features independent a linear model's Shapley values are w_j (x_j - E[x_j]) for
    # every permutation, so the sampling explainer must reproduce them exactly
    y = frame["f0"] * 2 - frame["f3"] + 0.5 * frame["dow"]
    model = LinearRegression().fit(frame.to_numpy(), y)
    background = background_from_frame(frame, size=30)
    result = explain(
        model,
        frame.iloc[:5],
        method="permutation",
        background=background,
        max_evals=100,
        feature_names=list(frame.columns),
    )
    reference = background.data.to_numpy().mean(axis=0)  # the masker weighs centroids equally
    exact = (frame.iloc[:5].to_numpy() - reference) * model.coef_
    assert result.method == "permutation"
    assert result.space == "raw"
    assert np.abs(result.values - exact).max() < 1e-9
    assert result.max_residual < 1e-9


@pytest.mark.parametrize("kind", ["permutation", "kernel"])
def test_any_classifier_is_explained_in_probability_space(
    kind: str, frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = KNeighborsClassifier(15).fit(frame.to_numpy(), targets["binary"])
    explainer = Explainer(
        model,
        method="auto",
        background=frame.iloc[:200],
        background_size=20,
        feature_names=list(frame.columns),
    ) if kind == "permutation" else Explainer(
        model, method="kernel", background=frame.iloc[:200], background_size=20,
        feature_names=list(frame.columns), max_evals=200,
    )  # fmt: skip
    assert explainer.method_names == {"model": kind}  # auto: no exact path for k-NN
    result = explainer.explain(frame.iloc[:3])
    assert result.space == "probability"
    assert result.outputs == ["1"]
    assert np.allclose(result.output_values, model.predict_proba(frame.iloc[:3].to_numpy())[:, 1])
    assert result.max_residual < 1e-9  # both explainers are additive by construction
    assert np.all(result.base_values >= 0)
    assert np.all(result.base_values <= 1)


def test_more_rows_than_the_budget_are_refused_with_the_estimate(frame: pd.DataFrame) -> None:
    model = make_model("logistic", "classification").fit(frame, (frame["f0"] > 0).astype(int))
    explainer = Explainer(model, method="permutation", background=frame, max_rows=10)
    with pytest.raises(ConfigError, match=r"permutation explanations of 400 rows would take "
                       r"about \d+ (s|min|h) .*at most 10 rows.*--max-rows"):  # fmt: skip
        explainer.explain(frame)


def test_interactions_need_an_exact_tree_model(frame: pd.DataFrame) -> None:
    model = make_model("logistic", "classification").fit(frame, (frame["f0"] > 0).astype(int))
    with pytest.raises(ConfigError, match="no interactions"):
        explain(model, frame.iloc[:2], interactions=True)
    with pytest.raises(ConfigError, match="main effects only"):
        explain(model, frame.iloc[:2], method="kernel", background=frame, interactions=True)
