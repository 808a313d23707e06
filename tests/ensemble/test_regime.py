"""Causal regime switching: truncation, filtered (not smoothed) states, fallback, hysteresis."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.mixture import GaussianMixture
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

from mltrainer.ensemble import RegimeEnsemble, fit_regime_rule
from mltrainer.exceptions import ConfigError
from mltrainer.models import RegimeComposite, dwell, regime_probabilities
from tests.ensemble._spies import Recorder, SpyClassifier
from tests.ensemble.conftest import Series, make_series

VARIANTS: list[dict[str, Any]] = [
    {"method": "volatility", "features": ["vol"], "n_regimes": 3, "min_dwell": 4},
    {"method": "gmm", "features": ["ret", "vol"], "min_dwell": 3},
    {"method": "gmm", "features": ["vol"], "soft": True},
    {"method": "markov", "features": ["ret"], "min_dwell": 2},
    {"method": "markov", "features": ["ret"], "soft": True},
]


def _reference_dwell(raw: np.ndarray, min_dwell: int) -> np.ndarray:
    """The hysteresis as a state machine, one row at a time (the oracle)."""
    state, run, previous = int(raw[0]), 0, None
    out = []
    for value in raw:
        run = run + 1 if value == previous else 1
        previous = value
        if value != state and run >= min_dwell:
            state = int(value)
        out.append(state)
    return np.asarray(out)


@pytest.mark.parametrize("min_dwell", [1, 2, 3, 7])
def test_dwell_is_the_hysteresis_state_machine(min_dwell: int) -> None:
    rng = np.random.default_rng(min_dwell)
    for _ in range(20):
        raw = rng.integers(0, 3, size=200)
        raw = np.repeat(raw, rng.integers(1, 6, size=200))  # runs of 1..5 rows
        np.testing.assert_array_equal(dwell(raw, min_dwell), _reference_dwell(raw, min_dwell))


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v['method']}-{v.get('soft', 0)}")
def test_appending_future_bars_changes_no_past_regime_or_prediction(
    series: Series, variant: dict[str, Any]
) -> None:
    X, y = series.X, series.y
    model = RegimeEnsemble(
        [("lr", LogisticRegression())], min_rows=20, random_state=0, **variant
    ).fit(X.iloc[:300], y.iloc[:300])
    composite = model.composite_
    full = X.iloc[300:]
    regimes = composite.regimes(full)
    proba = composite.predict_proba(full)
    probabilities = composite.regime_probabilities(full)
    for end in (1, 2, 37, 90, 179):
        part = full.iloc[:end]
        np.testing.assert_array_equal(composite.regimes(part), regimes[:end])
        # members' BLAS batches may round the last bit differently: 1e-12, not bit equality
        np.testing.assert_allclose(composite.predict_proba(part), proba[:end], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(composite.regime_probabilities(part), probabilities[:end])
    # changing the future (not just adding it) changes nothing before it either
    future = full.copy()
    future.iloc[100:] = future.iloc[100:].to_numpy()[::-1] * 5.0
    np.testing.assert_array_equal(composite.regimes(future)[:100], regimes[:100])
    np.testing.assert_allclose(composite.predict_proba(future)[:100], proba[:100], atol=1e-12)
    assert len(np.unique(regimes)) >= 2  # the series has regimes: the test has teeth


def test_markov_regimes_are_filtered_not_smoothed(series: Series) -> None:
    X = series.X
    rule = fit_regime_rule(
        "markov", X[["ret"]].to_numpy()[:300], columns=["ret"], n_regimes=2, min_dwell=1, soft=True
    )
    z = (X["ret"].to_numpy() - rule["center"]) / rule["scale"]
    model = MarkovRegression(z, k_regimes=2, trend="c", switching_variance=True)
    order = rule["order"]
    filtered = model.filter(np.asarray(rule["params"])).filtered_marginal_probabilities[:, order]
    smoothed = model.smooth(np.asarray(rule["params"])).smoothed_marginal_probabilities[:, order]
    ours = regime_probabilities(rule, X[["ret"]].to_numpy())
    np.testing.assert_allclose(ours, filtered, rtol=0, atol=1e-12)
    assert np.abs(ours - smoothed).max() > 0.2  # smoothing looks ahead; we do not
    # regime 0 is the calm one and the filter finds the true regimes
    hit = (np.argmax(ours, axis=1) == series.regime).mean()
    assert hit > 0.8


def test_gmm_posterior_equals_scikit_learn(series: Series) -> None:
    values = series.X[["ret", "vol"]].to_numpy()
    rule = fit_regime_rule(
        "gmm",
        values[:300],
        columns=["ret", "vol"],
        n_regimes=2,
        min_dwell=1,
        soft=True,
        random_state=0,
    )
    center, scale = np.asarray(rule["center"]), np.asarray(rule["scale"])
    mixture = GaussianMixture(2, n_init=3, reg_covar=1e-6, random_state=0)
    mixture.fit((values[:300] - center) / scale)
    order = np.argsort(mixture.means_[:, 0])
    expected = mixture.predict_proba((values - center) / scale)[:, order]
    np.testing.assert_allclose(regime_probabilities(rule, values), expected, atol=1e-10)


def test_members_are_fitted_on_their_regime_rows_only(series: Series) -> None:
    X, y = series.X, series.y
    log = Recorder()
    model = RegimeEnsemble(
        [("spy", SpyClassifier(log))], features=["vol"], n_regimes=2, min_dwell=3, min_rows=20
    ).fit(X, y)
    regimes = pd.Series(model.regimes(X), index=X.index)
    fits = [rows for kind, _, rows in log.of("member") if kind == "fit"]
    assert len(fits) == 2
    for r, rows in enumerate(fits):
        assert (regimes.loc[rows] == r).all()
        assert len(rows) == model.regime_counts_[r]
    # and each row is predicted by its own regime's member
    members = model.composite_.composite_members()
    proba = model.predict_proba(X)
    for r in (0, 1):
        rows = regimes.to_numpy() == r
        np.testing.assert_allclose(
            proba[rows], members[f"r{r}-spy"].predict_proba(X[rows]), rtol=0, atol=1e-12
        )


def test_a_thin_regime_falls_back_and_says_so(series: Series) -> None:
    X, y = series.X, series.y
    model = RegimeEnsemble(
        [("lr", LogisticRegression()), ("lr2", LogisticRegression(C=0.01))],
        features=["vol"],
        n_regimes=4,
        min_rows=130,
        fallback="lr2",
    ).fit(X, y)
    assert model.regime_counts_ == [120, 120, 120, 120]
    assert set(model.fallbacks_) == {0, 1, 2, 3}
    assert "120 training rows < min_rows=130" in model.fallbacks_[0]
    composite = model.composite_
    assert composite.assignment_ == [["fallback-lr2"]] * 4
    assert composite.fallbacks_ == [0, 1, 2, 3]
    alone = LogisticRegression(C=0.01).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), alone.predict_proba(X), atol=1e-12)


def test_soft_mixes_the_regimes_by_their_probabilities(series: Series) -> None:
    X, reg = series.X, series.reg
    model = RegimeEnsemble(
        [("ridge", Ridge())],
        method="gmm",
        features=["vol"],
        soft=True,
        min_rows=20,
        random_state=0,
    ).fit(X, reg)
    composite: RegimeComposite = model.composite_
    weights = composite.regime_probabilities(X)
    members = composite.composite_members()
    expected = weights[:, 0] * members["r0-ridge"].predict(X) + weights[:, 1] * members[
        "r1-ridge"
    ].predict(X)
    np.testing.assert_allclose(model.predict(X), expected, rtol=0, atol=1e-12)
    assert 0.05 < weights[:, 1].mean() < 0.95


def test_switching_recovers_the_opposite_signals() -> None:
    data = make_series(n=1200, seed=3)
    train, test = slice(0, 800), slice(800, None)
    model = RegimeEnsemble([("lr", LogisticRegression())], method="markov", features=["ret"])
    model.fit(data.X.iloc[train], data.y.iloc[train])
    single = LogisticRegression().fit(data.X.iloc[train], data.y.iloc[train])
    y_test = data.y.iloc[test]
    switched = (model.predict(data.X.iloc[test]) == y_test).mean()
    plain = (single.predict(data.X.iloc[test]) == y_test).mean()
    assert switched > plain + 0.1


def test_regime_settings_are_refused_with_one_line(series: Series) -> None:
    X, y = series.X, series.y
    lr = [("lr", LogisticRegression())]
    cases = [
        (RegimeEnsemble(lr, soft=True), "soft=True needs regime probabilities"),
        (RegimeEnsemble(lr, method="gmm", soft=True, min_dwell=3), "with soft=True use min_dwell"),
        (RegimeEnsemble(lr, fallback="xgb"), "fallback='xgb' is not a member"),
        (RegimeEnsemble(lr, features=["nope"]), r"regime features \['nope'\] are not columns"),
        (RegimeEnsemble(lr, method="hmm"), "is not one of"),
        (RegimeEnsemble(lr, n_regimes=1), "n_regimes=1 must be an integer of at least 2"),
        (RegimeEnsemble([("fallback", LogisticRegression())]), "is not allowed here"),
    ]
    for estimator, message in cases:
        with pytest.raises(ConfigError, match=message) as info:
            estimator.fit(X, y)
        assert "\n" not in str(info.value)
    spec = RegimeEnsemble(lr, min_rows=10).fit(X, y).composite_.composite_spec()
    members = RegimeEnsemble(lr, min_rows=10).fit(X, y).composite_.composite_members()
    broken = {**spec, "regime": {**spec["regime"], "thresholds": [1.0, 2.0]}}
    with pytest.raises(ConfigError, match="volatility thresholds is malformed"):
        RegimeComposite.from_composite(broken, members)
    with pytest.raises(ConfigError, match="assignment"):
        RegimeComposite.from_composite({**spec, "assignment": [["r0-lr"], ["r0-lr"]]}, members)
