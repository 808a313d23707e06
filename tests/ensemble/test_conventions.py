"""Every ensemble estimator keeps scikit-learn's estimator contract (parametrize_with_checks)."""

from __future__ import annotations

from typing import Any

from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from mltrainer.ensemble import RegimeEnsemble, StackingEnsemble, VotingEnsemble

CLASSIFIERS = [
    ("lr", LogisticRegression()),
    ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
]
REGRESSORS = [("ridge", Ridge()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))]

ESTIMATORS = [
    VotingEnsemble(CLASSIFIERS),
    VotingEnsemble(CLASSIFIERS, voting="hard", weights=[2, 1]),
    VotingEnsemble(REGRESSORS, weights=[1, 3]),
    StackingEnsemble(CLASSIFIERS),
    StackingEnsemble(CLASSIFIERS, meta="logistic"),
    StackingEnsemble(REGRESSORS),
    StackingEnsemble(REGRESSORS, meta="ridge"),
    RegimeEnsemble(CLASSIFIERS, min_rows=5),
    RegimeEnsemble(REGRESSORS, method="gmm", min_rows=5, random_state=0),
]


def _expected_failures(estimator: Any) -> dict[str, str]:
    # A weight of 2 is not a repeated row for these: the stack's inner folds and the regime
    # quantiles count rows, so a repeated row shifts fold and regime boundaries.
    quantiles = isinstance(estimator, RegimeEnsemble) and estimator.method == "volatility"
    if isinstance(estimator, StackingEnsemble) or quantiles:
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "inner folds / regime quantiles count rows, so weights are not repetitions"
            )
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_scikit_learn_conventions(estimator: Any, check: Any) -> None:
    check(estimator)
