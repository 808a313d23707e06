"""Averaging and voting: weighted means of probabilities or predictions, weighted votes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from mltrainer.ensemble import VotingEnsemble
from mltrainer.exceptions import ConfigError
from mltrainer.models import AveragingComposite, VotingComposite
from tests.ensemble.conftest import Series

MEMBERS = [
    ("lr", LogisticRegression()),
    ("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
    ("stump", DecisionTreeClassifier(max_depth=1, random_state=0)),
]


def test_soft_is_the_weighted_mean_of_probabilities(series: Series) -> None:
    X, y = series.X, series.y
    model = VotingEnsemble(MEMBERS, weights=[2, 1, 1]).fit(X, y)
    assert isinstance(model.composite_, AveragingComposite)
    parts = [est.fit(X, y).predict_proba(X) for _, est in MEMBERS]
    expected = 0.5 * parts[0] + 0.25 * parts[1] + 0.25 * parts[2]
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=0, atol=1e-12)
    reference = VotingClassifier(MEMBERS, voting="soft", weights=[2, 1, 1]).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-12)


def test_hard_is_scikit_learns_weighted_majority(series: Series) -> None:
    X, y = series.X, series.y
    model = VotingEnsemble(MEMBERS, voting="hard", weights=[1, 1, 3]).fit(X, y)
    assert isinstance(model.composite_, VotingComposite)
    reference = VotingClassifier(MEMBERS, voting="hard", weights=[1, 1, 3]).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    shares = model.predict_proba(X)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert set(np.round(shares[:, 1], 6)) <= {0.0, 0.2, 0.4, 0.6, 0.8, 1.0}


def test_regressors_average_and_refuse_hard_votes(series: Series) -> None:
    X, reg = series.X, series.reg
    members = [("ridge", Ridge()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))]
    model = VotingEnsemble(members, weights=[3, 1]).fit(X, reg)
    expected = 0.75 * Ridge().fit(X, reg).predict(X) + 0.25 * DecisionTreeRegressor(
        max_depth=3, random_state=0
    ).fit(X, reg).predict(X)
    np.testing.assert_allclose(model.predict(X), expected, rtol=0, atol=1e-12)
    assert not hasattr(model, "predict_proba")
    with pytest.raises(ConfigError, match="voting='hard' votes on class labels"):
        VotingEnsemble(members, voting="hard").fit(X, reg)
    with pytest.raises(ConfigError, match="mixed tasks"):
        VotingEnsemble([*members, ("lr", LogisticRegression())]).fit(X, reg)


def test_nested_params_reach_the_members(series: Series) -> None:
    model = VotingEnsemble(MEMBERS).set_params(lr__C=0.01, tree__max_depth=1)
    assert model.get_params()["lr__C"] == 0.01
    fitted = model.fit(series.X, series.y)
    assert fitted.members_["lr"].C == 0.01
    assert fitted.members_["tree"].get_depth() == 1
