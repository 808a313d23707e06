"""Stacks, regime switchers and calibrated classifiers: explained exactly from their members.

Each composite is fitted as the ensemble layer fits it; its explanation must add up to the
composite's OWN output (probability, the stack's margin, or the prediction), keep every
member's explanation, and match the members' contributions combined by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from mltrainer.cv import PurgedKFold
from mltrainer.ensemble import RegimeEnsemble, StackingEnsemble, VotingEnsemble, as_composite
from mltrainer.exceptions import ConfigError
from mltrainer.explain import composable, composer_for, explain, link_to_probability
from mltrainer.models import CalibratedComposite, make_model
from tests.ensemble.conftest import HORIZON, Series, make_series


@pytest.fixture(scope="module")
def series() -> Series:
    return make_series(n=420, seed=3)


def _classifiers() -> list[tuple[str, Any]]:
    return [
        ("xgb", make_model("xgboost", "classification", {"n_estimators": 15}, random_state=0)),
        ("rf", make_model("random_forest", "classification", {"n_estimators": 15})),
        ("logit", make_model("logistic", "classification")),
    ]


def _regressors() -> list[tuple[str, Any]]:
    return [
        ("xgb", make_model("xgboost", "regression", {"n_estimators": 15}, random_state=0)),
        ("ridge", make_model("ridge", "regression")),
    ]


def _fit(estimator: Any, series: Series, target: str) -> tuple[Any, pd.DataFrame]:
    y = getattr(series, target)
    return as_composite(estimator.fit(series.X.iloc[:320], y.iloc[:320])), series.X.iloc[320:]


def _inner(series: Series) -> PurgedKFold:
    return PurgedKFold(3, t1=series.t1.iloc[:320], embargo=HORIZON)


def test_weights_stack_is_the_weighted_sum_of_member_probabilities(series: Series) -> None:
    composite, rows = _fit(StackingEnsemble(_classifiers(), cv=_inner(series)), series, "y")
    result = explain(composite, rows)
    assert result.space == "probability"
    np.testing.assert_allclose(result.output_values, composite.predict_proba(rows)[:, 1], atol=1e-6)
    assert result.max_residual < 1e-6
    weights = composite.linear_combination()["coef"]
    expected = np.zeros_like(result.values)
    for w, name in zip(weights, ["xgb", "rf", "logit"], strict=True):
        member = result.members[name]
        part = link_to_probability(member) if member.space == "margin" else member
        expected += w * part.values
    np.testing.assert_allclose(result.values, expected, atol=1e-12)


def test_logistic_stack_with_passthrough_explains_its_margin(series: Series) -> None:
    stack = StackingEnsemble(_classifiers(), meta="logistic", cv=_inner(series), passthrough=["a"])
    composite, rows = _fit(stack, series, "y")
    result = explain(composite, rows)
    assert result.space == "margin"
    margin = logit(composite.predict_proba(rows)[:, 1])
    np.testing.assert_allclose(result.output_values, margin, atol=1e-6)  # its own margin
    # xgboost's float32 probabilities through the logit: within the declared tolerance
    assert result.additive
    assert result.max_residual < 1e-5
    assert set(result.members) == {"xgb", "rf", "logit"}
    assert result.weights["x:a"] != 0  # the passthrough column's coefficient
    # the passthrough column carries its member contributions plus c * (a - mean)
    assert np.abs(result.values[:, list(rows.columns).index("a")]).max() > 0


def test_ridge_stack_is_exact_on_predictions(series: Series) -> None:
    composite, rows = _fit(
        StackingEnsemble(_regressors(), meta="ridge", cv=_inner(series)), series, "reg"
    )
    result = explain(composite, rows)
    assert result.space == "raw"
    np.testing.assert_allclose(result.output_values, composite.predict(rows), atol=1e-5)
    assert result.max_residual < 1e-6


def test_non_linear_meta_and_hard_votes_are_explained_by_sampling(series: Series) -> None:
    from sklearn.tree import DecisionTreeClassifier

    tree_meta = StackingEnsemble(
        _classifiers(), meta=DecisionTreeClassifier(max_depth=2, random_state=0), cv=_inner(series)
    )
    for estimator in (tree_meta, VotingEnsemble(_classifiers(), voting="hard")):
        composite, rows = _fit(estimator, series, "y")
        assert not composable(composite)
        background = series.X.iloc[:320:16]  # 20 rows: the sampled path, kept small
        result = explain(composite, rows.iloc[:3], background=background, max_evals=20)
        assert result.method == "permutation"
        np.testing.assert_allclose(
            result.output_values, composite.predict_proba(rows.iloc[:3])[:, 1], atol=1e-9
        )
    with pytest.raises(ConfigError, match="no explanation composer"):
        composer_for(composite)


def test_an_ensemble_behind_a_selector_is_composed_on_the_selected_columns(
    series: Series,
) -> None:
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline(
        [
            ("select", SelectKBest(f_classif, k=3)),
            ("model", StackingEnsemble(_classifiers(), cv=_inner(series))),
        ]
    ).set_output(transform="pandas")
    pipeline.fit(series.X.iloc[:320], series.y.iloc[:320])
    rows = series.X.iloc[320:]
    result = explain(pipeline, rows)
    kept = list(series.X.columns[pipeline.named_steps["select"].get_support()])
    assert result.method == "composite"
    assert result.feature_names == kept
    np.testing.assert_allclose(result.output_values, pipeline.predict_proba(rows)[:, 1], atol=1e-6)
    assert result.max_residual < 1e-6


def test_hard_regime_switch_gives_each_row_its_active_members_contributions(
    series: Series,
) -> None:
    regime = RegimeEnsemble(_classifiers(), features=["vol"], n_regimes=2, min_dwell=3, min_rows=60)
    composite, rows = _fit(regime, series, "y")
    result = explain(composite, rows)
    assert result.space == "probability"
    np.testing.assert_allclose(result.output_values, composite.predict_proba(rows)[:, 1], atol=1e-6)
    assert result.max_residual < 1e-6
    active = composite.regimes(rows)
    assert len(set(active)) == 2  # both regimes occur in the explained rows
    for r in set(active):
        at = active == r
        expected = np.zeros_like(result.values[at])
        for name in composite.assignment_[r]:
            member = result.members[name]
            part = link_to_probability(member) if member.space == "margin" else member
            expected += part.values[at] / len(composite.assignment_[r])
        np.testing.assert_allclose(result.values[at], expected, atol=1e-12)
    assert any("taken as given" in note for note in result.notes)


def test_soft_regime_mixture_regression_is_exact(series: Series) -> None:
    regime = RegimeEnsemble(
        _regressors(), method="gmm", features=["ret", "vol"], soft=True, min_rows=30, random_state=0
    )
    composite, rows = _fit(regime, series, "reg")
    result = explain(composite, rows)
    assert result.space == "raw"
    np.testing.assert_allclose(result.output_values, composite.predict(rows), atol=1e-5)
    assert result.max_residual < 1e-6


@pytest.mark.parametrize(
    "calibration",
    [
        {"method": "platt", "n_classes": 2, "maps": [{"a": 1.7, "b": -0.2}]},
        {
            "method": "isotonic",
            "n_classes": 2,
            "maps": [{"x": [0.0, 0.4, 0.6, 1.0], "y": [0.1, 0.3, 0.8, 0.9]}],
        },
    ],
)
def test_calibrated_classifier_explains_the_calibrated_probability(
    calibration: dict[str, Any], series: Series
) -> None:
    model = CalibratedComposite(
        make_model("xgboost", "classification", {"n_estimators": 15}, random_state=0),
        calibration=calibration,
    ).fit(series.X.iloc[:320], series.y.iloc[:320])
    rows = series.X.iloc[320:]
    result = explain(model, rows)
    assert result.space == "probability"
    np.testing.assert_allclose(result.output_values, model.predict_proba(rows)[:, 1], atol=1e-6)
    assert result.max_residual < 1e-6
    linked = link_to_probability(result.members["model"])
    same_sign = np.sign(result.values) * np.sign(linked.values)
    assert np.all(same_sign >= 0)  # a monotone map keeps every contribution's sign
