"""The predict-only composites: Voting, Stacking and Regime specs are validated on load."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from mltrainer.exceptions import ConfigError
from mltrainer.models import (
    COMPOSITES,
    RegimeComposite,
    StackingComposite,
    VotingComposite,
    meta_input_names,
)


@pytest.fixture(scope="module")
def fitted() -> dict[str, Any]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0).astype(int).to_numpy()
    return {
        "X": X,
        "y": y,
        "lr": LogisticRegression().fit(X, y),
        "lr2": LogisticRegression(C=0.1).fit(X, y),
        "ridge": Ridge().fit(X, X["b"]),
    }


def _stack_spec(**meta: Any) -> dict[str, Any]:
    inputs = meta_input_names(["lr", "lr2"], meta="weights", task="classifier", n_classes=2)
    return {
        "task": "classifier",
        "classes": [0, 1],
        "features": {"lr": None, "lr2": None},
        "n_features_in": 3,
        "feature_names_in": ["a", "b", "c"],
        "meta": {"type": "weights", "inputs": inputs, "weights": [0.25, 0.75], **meta},
        "passthrough": [],
    }


def test_every_new_kind_is_on_the_allow_list() -> None:
    assert COMPOSITES["voting"] is VotingComposite
    assert COMPOSITES["stacking"] is StackingComposite
    assert COMPOSITES["regime"] is RegimeComposite


def test_stacking_spec_builds_the_weighted_mix(fitted: dict[str, Any]) -> None:
    X = fitted["X"]
    members = {"lr": fitted["lr"], "lr2": fitted["lr2"]}
    model = StackingComposite.from_composite(_stack_spec(), members)
    expected = 0.25 * fitted["lr"].predict_proba(X) + 0.75 * fitted["lr2"].predict_proba(X)
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=0, atol=1e-12)
    assert model.composite_spec() == _stack_spec()
    assert model.linear_combination()["coef"] == [0.25, 0.75]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"meta": {"type": "boost"}}, "meta must be a mapping with type in"),
        ({"classes": [0, 2]}, "member 'lr' has classes"),
        ({"task": "regressor"}, "members disagree"),
        ({"features": {"lr": None}}, "does not describe members"),
        ({"passthrough": ["zz"]}, "passes through"),
    ],
)
def test_stacking_spec_that_does_not_fit_the_members_is_refused(
    fitted: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    members = {"lr": fitted["lr"], "lr2": fitted["lr2"]}
    with pytest.raises(ConfigError, match=message):
        StackingComposite.from_composite({**_stack_spec(), **change}, members)


def test_stacking_meta_numbers_are_checked(fitted: dict[str, Any]) -> None:
    members = {"lr": fitted["lr"], "lr2": fitted["lr2"]}
    spec = _stack_spec()
    with pytest.raises(ConfigError, match="not normalised"):
        StackingComposite.from_composite(
            {**spec, "meta": {**spec["meta"], "weights": [1, 3]}}, members
        )
    inputs = ["lr:logit", "lr2:logit"]
    logistic = {
        "type": "logistic",
        "inputs": inputs,
        "center": [0, 0],
        "scale": [1, 0],
        "coef": [[1, 1]],
        "intercept": [0],
    }
    with pytest.raises(ConfigError, match="scale must be positive"):
        StackingComposite.from_composite({**spec, "meta": logistic}, members)
    with pytest.raises(ConfigError, match="meta coef must be finite numbers of shape"):
        StackingComposite.from_composite(
            {**spec, "meta": {**logistic, "scale": [1, 1], "coef": [[1]]}}, members
        )
    with pytest.raises(ConfigError, match="do not match"):
        StackingComposite.from_composite(
            {**spec, "meta": {**spec["meta"], "inputs": ["x"]}}, members
        )


def test_voting_composite_refuses_regressors(fitted: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="hard voting"):
        VotingComposite([("ridge", Ridge())]).fit(fitted["X"], fitted["X"]["b"])
