"""Every combine is saved as ONE registry version, each member in its native format, and
predicts identically after loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from mltrainer.cv import PurgedKFold
from mltrainer.ensemble import RegimeEnsemble, StackingEnsemble, VotingEnsemble, as_composite
from mltrainer.models import make_model
from mltrainer.registry import ModelRegistry
from tests.ensemble.conftest import HORIZON, Series


def _classifiers() -> list[tuple[str, Any]]:
    return [
        ("xgb", make_model("xgboost", "classification", {"n_estimators": 15}, random_state=0)),
        ("lgbm", make_model("lightgbm", "classification", {"n_estimators": 15}, random_state=0)),
        ("logit", make_model("logistic", "classification")),
    ]


def _regressors() -> list[tuple[str, Any]]:
    return [
        ("xgb", make_model("xgboost", "regression", {"n_estimators": 15}, random_state=0)),
        ("ridge", make_model("ridge", "regression")),
    ]


def _cases(series: Series) -> dict[str, tuple[Any, str]]:
    inner = PurgedKFold(3, t1=series.t1, embargo=HORIZON)
    return {
        "average": (VotingEnsemble(_classifiers()), "y"),
        "vote_soft_weighted": (VotingEnsemble(_classifiers(), weights=[2, 1, 1]), "y"),
        "vote_hard": (VotingEnsemble(_classifiers(), voting="hard"), "y"),
        "average_regression": (VotingEnsemble(_regressors(), weights=[1, 2]), "reg"),
        "stack_weights": (StackingEnsemble(_classifiers(), cv=inner), "y"),
        "stack_logistic_passthrough": (
            StackingEnsemble(_classifiers(), meta="logistic", cv=inner, passthrough=["a"]),
            "y",
        ),
        "stack_tree_meta": (
            StackingEnsemble(
                _classifiers(), meta=DecisionTreeClassifier(max_depth=2, random_state=0), cv=inner
            ),
            "y",
        ),
        "stack_ridge": (StackingEnsemble(_regressors(), meta="ridge", cv=inner), "reg"),
        "stack_weights_regression": (StackingEnsemble(_regressors(), cv=inner), "reg"),
        "regime_volatility": (
            RegimeEnsemble(_classifiers(), features=["vol"], n_regimes=3, min_dwell=3, min_rows=60),
            "y",
        ),
        "regime_gmm_soft": (
            RegimeEnsemble(
                _regressors(),
                method="gmm",
                features=["ret", "vol"],
                soft=True,
                min_rows=30,
                random_state=0,
            ),
            "reg",
        ),
        "regime_markov": (
            RegimeEnsemble(
                _classifiers(), method="markov", features=["ret"], min_dwell=2, min_rows=30
            ),
            "y",
        ),
    }


CASES = [
    "average",
    "vote_soft_weighted",
    "vote_hard",
    "average_regression",
    "stack_weights",
    "stack_logistic_passthrough",
    "stack_tree_meta",
    "stack_ridge",
    "stack_weights_regression",
    "regime_volatility",
    "regime_gmm_soft",
    "regime_markov",
]


@pytest.mark.parametrize("case", CASES)
def test_every_combine_round_trips_and_predicts_identically(
    case: str, series: Series, tmp_path: Path
) -> None:
    estimator, target = _cases(series)[case]
    X = series.X
    train, new = X.iloc[:360], X.iloc[360:]
    fitted = estimator.fit(train, getattr(series, target).iloc[:360])
    composite = as_composite(fitted)
    registry = ModelRegistry(tmp_path / "models")
    saved = registry.save(case, composite, feature_names=list(X.columns))
    files = sorted(p.name for p in saved.path.iterdir())
    members = composite.composite_members()
    assert "spec.json" in files
    assert len([f for f in files if f.startswith("member-")]) == len(members)
    loaded = registry.load(case)
    assert loaded.is_composite
    assert list(loaded.members) == list(members)
    np.testing.assert_array_equal(loaded.predict(new), fitted.predict(new))
    if target == "y":
        np.testing.assert_array_equal(loaded.predict_proba(new), fitted.predict_proba(new))
    spec = json.loads((saved.path / "spec.json").read_text())
    assert spec["kind"] == composite.composite_kind
    # the formats are the members' own: boosters as JSON / text, scikit-learn as skops
    formats = {m["name"]: m["format"] for m in spec["members"]}
    assert {f for n, f in formats.items() if "xgb" in n} <= {"xgboost"}
    assert {f for n, f in formats.items() if "lgbm" in n} <= {"lightgbm"}
    if case.startswith("regime"):
        assert np.array_equal(loaded.estimator.regimes(new), composite.regimes(new))
