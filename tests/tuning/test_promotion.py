"""The promotion test corrects for the number of trials: a search over many noise trials is
not promoted, a genuinely better config is (unit level and through `tune`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mltrainer.store import open_store
from mltrainer.tuning import (
    Evidence,
    deflated_sharpe_ratio,
    paired_gain_test,
    promotion_test,
    spa_test,
    tune,
)
from mltrainer.tuning._results import store_key
from tests.tuning.conftest import ar_bars, noise_bars, synthetic_config

N_FOLDS, N_BLOCKS, N_OBS = 5, 128, 1000


def _returns(series: np.ndarray) -> dict[str, object]:
    sharpe = float(series.mean() / series.std(ddof=1))
    return {
        "sharpe": sharpe,
        "n": series.size,
        "skew": 0.0,
        "kurtosis": 3.0,
        "series": series.tolist(),
    }


def _noise_trials(seed: int, n: int = 50) -> tuple[list[Evidence], np.ndarray]:
    """``n`` unskilled trials scored on the same folds and time blocks (a shared fold
    effect plus each trial's own noise), with their positions independent of the market's
    returns (no skill); and those returns."""
    rng = np.random.default_rng(seed)
    fold_effect = rng.normal(0.5, 0.02, N_FOLDS)
    market = rng.normal(0.0, 0.01, N_BLOCKS)
    trials = []
    for _ in range(n):
        position = rng.choice([-1.0, 1.0], N_BLOCKS)  # independent of the returns: no skill
        trials.append(
            Evidence(
                fold_scores=(fold_effect + rng.normal(0, 0.01, N_FOLDS)).tolist(),
                returns=_returns(position * market),
            )
        )
    return trials, market


def _best(trials: list[Evidence]) -> Evidence:
    return max(trials, key=lambda t: float(np.mean(t.fold_scores)))


def test_the_best_of_many_noise_trials_is_not_promoted() -> None:
    trials, _ = _noise_trials(seed=0)
    fixed, best = trials[0], _best(trials)
    # the paired test alone (the rule before) promotes the luckiest of 50 noise trials
    gain, p_value = paired_gain_test(np.array(best.fold_scores), np.array(fixed.fold_scores))
    assert gain > 0
    assert p_value < 0.05
    decision = promotion_test(best, fixed, trials, n_tested=50, significance=0.05, seed=0)
    assert not decision.promoted
    assert decision.p_value == pytest.approx(p_value)
    assert decision.spa_p_value is not None
    assert decision.spa_p_value > 0.05
    assert decision.deflated_sharpe is not None
    assert decision.deflated_sharpe < 0.95
    assert any("SPA" in reason for reason in decision.reasons)
    assert "SPA over 50 trials" in decision.rule
    assert "deflated Sharpe (N=50)" in decision.rule


def test_a_genuinely_better_config_is_promoted() -> None:
    trials, market = _noise_trials(seed=0)
    right = np.random.default_rng(0).random(N_BLOCKS) < 0.85
    skilled = np.where(right, np.sign(market), -np.sign(market))
    better = Evidence(
        fold_scores=[s + 0.03 for s in trials[7].fold_scores],
        returns=_returns(skilled * market),  # on the right side 85 % of the time
    )
    trials[7] = better
    decision = promotion_test(better, trials[0], trials, n_tested=50, significance=0.05, seed=0)
    assert decision.promoted, decision.reasons
    assert decision.reasons == []
    assert decision.spa_p_value is not None
    assert decision.spa_p_value < 0.05
    assert decision.deflated_sharpe is not None
    assert decision.deflated_sharpe > 0.95


def test_spa_must_find_the_selected_trial_itself_better() -> None:
    trials, _ = _noise_trials(seed=0)
    fixed, best = trials[0], _best(trials)
    other = next(i for i, t in enumerate(trials) if t is not best and t is not fixed)
    earner = np.abs(np.asarray(trials[other].series))  # always on the right side
    trials[other] = Evidence(trials[other].fold_scores, _returns(earner))
    decision = promotion_test(best, fixed, trials, n_tested=50, significance=0.05, seed=0)
    assert decision.spa_p_value is not None
    assert decision.spa_p_value < 0.05  # some trial beats the fixed config...
    assert not decision.promoted  # ...but not the one that would be promoted
    assert any("not the best-scoring one" in reason for reason in decision.reasons)


def test_without_signal_returns_the_p_value_is_corrected_for_every_trial() -> None:
    fixed = Evidence([0.50, 0.51, 0.49, 0.50, 0.52])
    best = Evidence([0.53, 0.52, 0.52, 0.51, 0.55])
    alone = promotion_test(best, fixed, [fixed, best], n_tested=1, significance=0.05)
    assert alone.promoted
    assert alone.bonferroni_p_value == pytest.approx(alone.p_value)
    searched = promotion_test(best, fixed, [fixed, best], n_tested=200, significance=0.05)
    assert not searched.promoted
    assert searched.bonferroni_p_value == pytest.approx(min(1.0, alone.p_value * 200))
    assert "Bonferroni p x 200" in searched.rule


def test_deflated_sharpe_counts_every_trial_that_ran() -> None:
    sharpes = np.random.default_rng(3).normal(0, 0.03, size=20)
    few = deflated_sharpe_ratio(0.08, sharpes, n_obs=N_OBS)
    many = deflated_sharpe_ratio(0.08, sharpes, n_obs=N_OBS, n_trials=500)
    assert many < few
    assert deflated_sharpe_ratio(0.08, sharpes, n_obs=N_OBS, n_trials=5) == pytest.approx(few)


def test_spa_test_with_only_copies_of_the_benchmark() -> None:
    bench = np.linspace(0.6, 0.7, 20)
    p_value, better = spa_test(bench, np.c_[bench, bench], significance=0.05, seed=0)
    assert p_value == 1.0
    assert better.size == 0


# -- through tune ---------------------------------------------------------------------------
def test_tune_does_not_promote_a_lucky_noise_trial(tmp_path: Path) -> None:
    config = synthetic_config(
        tmp_path,
        noise_bars(400, seed=1),
        params={"n_estimators": 20, "max_depth": 3},
        n_trials=20,
        n_splits=5,
        seed=1,
    )
    result = tune(config)
    # the paired test of fold scores alone would promote this noise (the rule before)
    assert result.gain > 0
    assert result.p_value < 0.05
    assert not result.promoted
    assert result.n_tested == result.n_complete + result.n_pruned == 20
    assert result.spa_basis == "out-of-fold signal returns"
    assert result.spa_p_value is not None
    assert result.spa_p_value > 0.05
    assert result.promotion_reasons
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        assert store.get(store_key(config, "best")) is None
        last = store.get(store_key(config, "last"))
    assert last["n_tested"] == 20
    assert last["promotion_reasons"] == result.promotion_reasons


def test_tune_promotes_a_genuinely_better_config(tmp_path: Path) -> None:
    # the fixed config cannot split (min_child_weight far above the rows' hessian) and sits
    # outside the space: it is scored directly, not by its clipped trial
    config = synthetic_config(
        tmp_path,
        ar_bars(800, seed=0, phi=0.3),
        params={"n_estimators": 10, "min_child_weight": 1000},
        n_trials=10,
        n_splits=3,
        seed=0,
    )
    result = tune(config)
    assert result.fixed_score == pytest.approx(0.5)  # constant predictions
    assert result.best_score > 0.6
    assert result.promoted, result.promotion_reasons
    assert result.spa_p_value is not None
    assert result.spa_p_value < 0.05
    assert result.deflated_sharpe is not None
    assert result.deflated_sharpe > 0.95
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        best = store.get(store_key(config, "best"))
    assert best["params"] == result.best_params
    assert best["n_tested"] == result.n_tested == 10
