"""A trial scores exactly what `mltrainer train` cross-validates: one plan, one fold loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mltrainer import Trainer
from mltrainer.config import config_from_dict
from mltrainer.pipeline import Plan
from mltrainer.tuning import Objective
from tests.conftest import run_raw


def _raw(tmp: Path, **overrides: Any) -> dict[str, Any]:
    sections: dict[str, Any] = {
        "name": "same-pipeline",
        "data": {"start": "2016-01-01"},
        "model": {"type": "xgboost", "params": {"n_estimators": 15, "max_depth": 2}},
        "selection": {"method": "permutation", "top_k": 6, "n_repeats": 1, "n_splits": 2},
    }
    return run_raw(tmp, **{**sections, **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"cv": {"n_splits": 3, "sample_weight": "uniqueness"}},
        {"model": {"type": "logistic", "params": {"C": 0.5}}},
    ],
    ids=["selection", "selection+weights", "logistic+selection"],
)
def test_trial_score_equals_the_trainers_cv_score(tmp_path: Path, overrides: Any) -> None:
    config = config_from_dict(_raw(tmp_path, **overrides))
    trained = Trainer(config).run()
    objective = Objective(config)
    tuned_param = {"max_depth": 3} if config.model.type == "xgboost" else {"C": 0.2}
    # the params the Trainer used: the fixed ones (an empty override)
    outcome = objective.evaluate({})
    headline = objective.scorer_name
    np.testing.assert_allclose(
        outcome.fold_scores, trained.folds[headline].to_numpy(), rtol=0, atol=1e-12
    )
    # and for other params the trial equals a train run with those params
    other = config_from_dict(
        _raw(
            tmp_path,
            **{
                **overrides,
                "model": {
                    "type": config.model.type,
                    "params": {**config.model.params, **tuned_param},
                },
            },
        )
    )
    retrained = Trainer(other).run()
    np.testing.assert_allclose(
        objective.evaluate(tuned_param).fold_scores,
        retrained.folds[headline].to_numpy(),
        rtol=0,
        atol=1e-12,
    )


def test_objective_reuses_a_given_plan(tmp_path: Path) -> None:
    config = config_from_dict(_raw(tmp_path, selection={"method": "none"}))
    plan = Plan.from_config(config)
    objective = Objective(config, plan=plan)
    assert objective.plan is plan
    assert objective.dataset is plan.dataset
