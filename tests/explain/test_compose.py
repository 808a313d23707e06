"""Composites: the members' explanations composed exactly, per-member contributions kept."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.frozen import FrozenEstimator

from mltrainer.exceptions import ConfigError
from mltrainer.explain import COMPOSERS, Explainer, explain, link_to_probability
from mltrainer.models import AveragingComposite, make_model


def _members(task: str) -> list[tuple[str, Any]]:
    return [
        ("xgb", make_model("xgboost", task, {"n_estimators": 30}, random_state=0)),
        ("lin", make_model("logistic" if task == "classification" else "ridge", task)),
    ]


def test_margin_space_is_the_weighted_sum_of_the_members(
    frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = AveragingComposite(
        _members("classification"), weights=[3, 1], features={"lin": ["f0", "f3"]}
    ).fit(frame, targets["binary"])
    rows = frame.iloc[:40]
    result = explain(model, rows)
    assert result.method == "composite"
    assert result.space == "margin"
    assert set(result.members) == {"xgb", "lin"}
    assert result.weights == {"xgb": 0.75, "lin": 0.25}
    xgb = explain(model.named_estimators_["xgb"], rows)
    lin = explain(model.named_estimators_["lin"], rows[["f0", "f3"]])
    expected = 0.75 * xgb.values.copy()
    for j, name in enumerate(["f0", "f3"]):
        expected[:, list(frame.columns).index(name)] += 0.25 * lin.values[:, j]
    assert np.abs(result.values - expected).max() < 1e-12
    assert np.allclose(result.base_values, 0.75 * xgb.base_values + 0.25 * lin.base_values)
    assert np.allclose(result.output_values, 0.75 * xgb.output_values + 0.25 * lin.output_values)
    assert result.additive  # additive with respect to the mean margin, and says so
    assert any("not the composite's probability" in note for note in result.notes)
    assert np.array_equal(result.members["lin"].values, lin.values)  # members kept


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_probability_space_explains_the_composites_own_output(
    kind: str, frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    members = [
        *_members("classification"),
        ("rf", make_model("random_forest", "classification", {"n_estimators": 20})),
    ]
    model = AveragingComposite(members).fit(frame, targets[kind])
    rows = frame.iloc[:30]
    with pytest.raises(ConfigError, match="member 'rf' is explained in probability space"):
        explain(model, rows, space="margin")
    result = explain(model, rows)  # a probability member: the default is probability space
    assert result.space == "probability"
    proba = model.predict_proba(rows)
    expected = proba[:, 1:] if kind == "binary" else proba
    assert np.abs(result.output - expected).max() < 1e-6  # the composite's own output
    assert result.max_residual < 1e-6  # exactly additive (xgboost rounds in float32)
    if kind == "multiclass":  # probability contributions sum to zero over the classes
        assert np.abs(result.contributions.sum(axis=2)).max() < 1e-9


def test_link_keeps_signs_and_proportions_of_a_binary_member(
    frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = make_model("logistic", "classification").fit(frame, targets["binary"])
    margin = explain(model, frame.iloc[:20])
    linked = link_to_probability(margin)
    assert np.abs(linked.output_values - model.predict_proba(frame.iloc[:20])[:, 1]).max() < 1e-12
    assert linked.max_residual < 1e-12
    ratio = linked.values / np.where(margin.values == 0, 1, margin.values)
    assert np.allclose(ratio, ratio[:, :1])  # one positive slope per row
    assert np.all(ratio > 0)
    asked = explain(model, frame.iloc[:20], space="probability")  # the same, on request
    assert asked.space == "probability"
    assert np.array_equal(asked.values, linked.values)
    with pytest.raises(ConfigError, match="explained in margin space; space='raw'"):
        explain(model, frame.iloc[:20], space="raw")


def test_regression_composite_is_its_members_weighted_sum(
    frame: pd.DataFrame, targets: dict[str, np.ndarray]
) -> None:
    model = AveragingComposite(_members("regression"), weights=[1, 1]).fit(
        frame, targets["regression"]
    )
    result = explain(model, frame.iloc[:25])
    assert result.space == "raw"
    assert np.abs(result.output_values - model.predict(frame.iloc[:25])).max() < 1e-5
    assert result.max_residual < 1e-6


def test_a_composite_kind_can_bring_its_own_composer(frame: pd.DataFrame) -> None:
    y = (frame["f0"] > 0).astype(int)
    fitted = make_model("logistic", "classification").fit(frame, y)

    class FirstMember(AveragingComposite):
        composite_kind = "first-member"

        def compose_explanation(self, frame: Any, members: Any, *, space: Any = None) -> Any:
            return next(iter(members.values()))

    model = FirstMember([("a", FrozenEstimator(fitted))]).fit(frame, y)
    assert "first-member" not in COMPOSERS
    result = explain(model, frame.iloc[:5])
    assert result.method == "linear"  # the class's own composition
    assert Explainer(model).method_names == {"a": "linear"}
