"""mltrainer.monitor statistics: performance metrics, concept drift, streaming detectors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from mltrainer.exceptions import ConfigError, DataError
from mltrainer.monitor import ADWINDetector, PageHinkleyDetector, concept_drift, performance
from mltrainer.monitor._concept import resample_ranks
from mltrainer.monitor._metrics import per_sample_loss


# -- performance ---------------------------------------------------------------------------
def binary_window(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, n), 0.01, 0.99)
    return y, (p > 0.5).astype(int), p


def test_binary_classification_matches_sklearn() -> None:
    y, pred, p = binary_window(500, 0)
    perf = performance(y, pred, kind="classification", proba=p)
    assert perf["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert perf["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert perf["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert perf["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert perf["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert perf["log_loss"] == pytest.approx(skm.log_loss(y, p))
    assert perf["brier"] == pytest.approx(skm.brier_score_loss(y, p))
    assert perf.reasons == {}
    assert set(perf) == set(perf.as_dict())
    assert len(perf) == 7
    assert "f1" in perf
    two_columns = performance(y, pred, kind="classification", proba=np.column_stack([1 - p, p]))
    assert two_columns.as_dict() == pytest.approx(perf.as_dict())


def test_multiclass_and_regression_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 400)
    proba = rng.dirichlet([1, 1, 1], 400)
    perf = performance(y, proba.argmax(1), kind="classification", proba=proba)
    assert perf["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert perf["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert perf["f1"] == pytest.approx(skm.f1_score(y, proba.argmax(1), average="macro"))
    truth = rng.normal(size=300)
    guess = 0.5 * truth + rng.normal(size=300)
    reg = performance(truth, guess, kind="regression")
    assert reg["mse"] == pytest.approx(skm.mean_squared_error(truth, guess))
    assert reg["mae"] == pytest.approx(skm.mean_absolute_error(truth, guess))
    assert reg["r2"] == pytest.approx(skm.r2_score(truth, guess))
    assert reg["ic"] == pytest.approx(stats.spearmanr(guess, truth).statistic)
    assert reg["directional_accuracy"] == pytest.approx(np.mean(np.sign(guess) == np.sign(truth)))
    assert "mape" not in reg


def test_one_class_window_gives_nan_auc_with_reason() -> None:
    perf = performance(
        np.ones(20, int), np.ones(20, int), kind="classification", proba=np.full(20, 0.8)
    )
    assert math.isnan(perf["roc_auc"])
    assert perf.reasons["roc_auc"] == "one class in window"
    assert perf["log_loss"] == pytest.approx(-math.log(0.8))
    no_proba = performance([0, 1, 1], [0, 1, 0], kind="classification")
    assert math.isnan(no_proba["roc_auc"])
    assert "no probabilities" in no_proba.reasons["roc_auc"]
    flat = performance(np.ones(5), np.arange(5.0), kind="regression")
    assert math.isnan(flat["ic"])
    assert math.isnan(flat["r2"])
    assert "constant" in flat.reasons["r2"]


def test_trading_metrics() -> None:
    returns = np.array([0.01, -0.02, 0.03, -0.01, 0.02])
    pred = np.array([0.5, 0.1, -0.2, -0.3, 0.0])
    perf = performance(returns, pred, kind="regression", returns=returns)
    pnl = np.sign(pred) * returns
    assert perf["hit_rate"] == pytest.approx(2 / 4)  # the flat position is not counted
    assert perf["sharpe"] == pytest.approx(pnl.mean() / pnl.std(ddof=1))
    annual = performance(returns, pred, kind="regression", returns=returns, periods_per_year=252)
    assert annual["sharpe"] == pytest.approx(perf["sharpe"] * math.sqrt(252))
    y = np.array([1, 0, 1, 1, 0])
    p = np.array([0.9, 0.2, 0.4, 0.7, 0.6])
    cls = performance(y, (p > 0.5).astype(int), kind="classification", proba=p, returns=returns)
    assert cls["hit_rate"] == pytest.approx(np.mean(np.sign(2 * p - 1) * returns > 0))
    no_trade = performance(returns, np.zeros(5), kind="regression", returns=returns)
    assert math.isnan(no_trade["hit_rate"])
    assert "no position" in no_trade.reasons["hit_rate"]


def test_a_missing_forward_return_drops_only_its_row() -> None:
    """Returns not yet realised (NaN) are left out of hit_rate and sharpe and counted."""
    rng = np.random.default_rng(4)
    returns = rng.normal(0.001, 0.01, 250)
    pred = returns + rng.normal(0, 0.01, 250)
    full = performance(returns, pred, kind="regression", returns=returns)
    assert full["returns_missing"] == 0
    late = returns.copy()
    late[-1] = np.nan  # the newest row's forward return is not known yet
    perf = performance(returns, pred, kind="regression", returns=late)
    pnl = np.sign(pred[:-1]) * returns[:-1]
    assert perf["hit_rate"] == pytest.approx(np.mean(pnl > 0))
    assert perf["sharpe"] == pytest.approx(pnl.mean() / pnl.std(ddof=1))
    assert perf["returns_missing"] == 1
    assert "hit_rate" not in perf.reasons
    none = performance(returns, pred, kind="regression", returns=np.full(250, np.nan))
    assert math.isnan(none["hit_rate"])
    assert math.isnan(none["sharpe"])
    assert none.reasons["sharpe"] == "no realised return in window"
    assert none["returns_missing"] == 250


def test_per_sample_loss_and_bad_input() -> None:
    y, pred, p = binary_window(50, 2)
    loss = per_sample_loss(y, pred, kind="classification", proba=p)
    assert loss.mean() == pytest.approx(skm.log_loss(y, p))
    np.testing.assert_array_equal(per_sample_loss(y, pred, kind="classification"), y != pred)
    np.testing.assert_allclose(
        per_sample_loss([1.0, 2.0], [1.5, 0.0], kind="regression"), [0.25, 4]
    )
    with pytest.raises(ConfigError, match="did you mean 'regression'"):
        performance([1.0], [1.0], kind="regresion")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="empty"):
        performance([], [], kind="regression")
    with pytest.raises(DataError, match="y_pred has 2 values but y_true has 3"):
        performance([1, 0, 1], [1, 0], kind="classification")
    with pytest.raises(DataError, match="proba has shape"):
        performance([1, 0], [1, 0], kind="classification", proba=np.ones((3, 2)) / 2)


# -- concept drift -------------------------------------------------------------------------
def classification_window(n: int, seed: int, *, flip_half: bool = False) -> tuple:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (x + rng.normal(0, 0.5, n) > 0).astype(int)
    if flip_half:
        y[n // 2 :] = 1 - y[n // 2 :]  # the relation between input and label flips
    p = 1 / (1 + np.exp(-2 * x))
    return y, p


def test_concept_drift_found_when_relation_flips_half_way() -> None:
    y_ref, p_ref = classification_window(3_000, 1)
    y_cur, p_cur = classification_window(2_000, 2, flip_half=True)
    result = concept_drift(
        y_ref, (p_ref > 0.5).astype(int), y_cur, (p_cur > 0.5).astype(int),
        kind="classification", random_state=0,
    )  # fmt: skip
    assert result.drifted
    assert result.metric == "accuracy"
    assert result.ci_high < 0
    assert result.difference < -0.2
    assert result.to_dict()["drifted"] is True
    auc = concept_drift(y_ref, p_ref, y_cur, p_cur, kind="classification", metric="roc_auc",
                        n_boot=200, random_state=0)  # fmt: skip
    assert auc.drifted
    assert auc.difference < -0.2


def test_concept_drift_not_found_when_only_noise_differs() -> None:
    y_ref, p_ref = classification_window(3_000, 1)
    for seed in (3, 4, 5):
        y_cur, p_cur = classification_window(2_000, seed)
        for metric in ("accuracy", "log_loss"):
            pred_ref = (p_ref > 0.5).astype(int) if metric == "accuracy" else p_ref
            pred_cur = (p_cur > 0.5).astype(int) if metric == "accuracy" else p_cur
            result = concept_drift(y_ref, pred_ref, y_cur, pred_cur, kind="classification",
                                   metric=metric, random_state=seed)  # fmt: skip
            assert not result.drifted, result.reason


def test_concept_drift_regression_ic() -> None:
    rng = np.random.default_rng(7)
    x_ref, x_cur, x_same = (rng.normal(size=k) for k in (3_000, 2_000, 2_000))
    y_ref = x_ref + rng.normal(size=3_000)
    y_same = x_same + rng.normal(size=2_000)
    y_cur = x_cur + rng.normal(size=2_000)
    y_cur[1_000:] *= -1
    flipped = concept_drift(
        y_ref, x_ref, y_cur, x_cur, kind="regression", n_boot=200, random_state=0
    )
    assert flipped.metric == "ic"
    assert flipped.drifted
    same = concept_drift(
        y_ref, x_ref, y_same, x_same, kind="regression", n_boot=200, random_state=0
    )
    assert not same.drifted
    small = concept_drift(y_ref, x_ref, y_cur, x_cur, kind="regression", threshold=5.0,
                          n_boot=200, random_state=0)  # fmt: skip
    assert not small.drifted
    assert "below threshold" in small.reason


def test_resample_ranks_equal_scipy_rankdata() -> None:
    rng = np.random.default_rng(8)
    values = np.round(rng.normal(size=400), 1)  # many ties
    idx = rng.integers(0, 400, (30, 400))
    np.testing.assert_allclose(resample_ranks(values, idx), stats.rankdata(values[idx], axis=1))


def regime_window(n: int, seed: int, *, regime: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """A predictor right 65 % of the time in calm regimes, 45 % in others, alternating
    every ``regime`` rows: its accuracy wanders, its relation to the label never changes."""
    rng = np.random.default_rng(seed)
    right = np.where((np.arange(n) // regime) % 2 == 0, 0.65, 0.45)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < right, y, 1 - y)
    return y, pred


def test_concept_window_null_knows_the_reference_wanders() -> None:
    y_ref, p_ref = regime_window(5_000, 1)
    y_cur, p_cur = regime_window(250, 2)  # one calm regime, as the reference had ten
    kw = {"kind": "classification", "n_boot": 200, "random_state": 0}
    old = concept_drift(y_ref, p_ref, y_cur, p_cur, window_null=False, **kw)
    assert old.drifted  # a block bootstrap inside windows calls a calm regime drift
    new = concept_drift(y_ref, p_ref, y_cur, p_cur, **kw)
    assert not new.drifted
    assert new.n_windows >= 50
    assert abs(new.difference) < new.window_threshold
    assert "windows" in new.reason
    broken = np.where(np.random.default_rng(3).random(250) < 0.25, y_cur, 1 - y_cur)
    flipped = concept_drift(y_ref, p_ref, y_cur, broken, **kw)  # right 25 %: a real break
    assert flipped.drifted
    assert abs(flipped.difference) > flipped.window_threshold


def test_concept_drift_undefined_and_bad_input() -> None:
    ones = np.ones(50, int)
    result = concept_drift(ones, np.full(50, 0.7), ones, np.full(50, 0.6),
                           kind="classification", metric="roc_auc")  # fmt: skip
    assert not result.drifted
    assert math.isnan(result.difference)
    assert "one class" in result.reason
    assert result.to_dict()["ci_low"] is None
    with pytest.raises(ConfigError, match="did you mean 'accuracy'"):
        concept_drift(ones, ones, ones, ones, kind="classification", metric="acuracy")
    with pytest.raises(ConfigError, match="not available for regression"):
        concept_drift(ones, ones, ones, ones, kind="regression", metric="accuracy")
    with pytest.raises(DataError, match="current window: 50 labels but 3 predictions"):
        concept_drift(ones, ones, ones, ones[:3], kind="classification")


# -- streaming detectors -------------------------------------------------------------------
@pytest.mark.parametrize("detector", [ADWINDetector, PageHinkleyDetector])
def test_detectors_fire_on_step_change_not_on_noise(detector: type) -> None:
    rng = np.random.default_rng(11)
    stationary = rng.exponential(0.7, 4_000)
    assert detector().update_many(stationary).size == 0
    step = np.concatenate([rng.exponential(0.7, 2_000), rng.exponential(1.6, 2_000)])
    fired = detector().update_many(step)
    assert fired.size >= 1
    assert 2_000 <= fired[0] < 2_300
    errors = np.concatenate([rng.random(3_000) < 0.3, rng.random(3_000) < 0.6]).astype(float)
    assert detector().update_many(errors[:3_000]).size == 0
    assert detector().update_many(errors)[0] >= 3_000


def test_detector_verbs() -> None:
    det = ADWINDetector(delta=0.01)
    assert det.update(0.1) is det
    assert det.drift_detected is False
    with pytest.raises(AttributeError):
        det.drift_detected = True  # type: ignore[misc]
    for _ in range(500):
        det.update(0.0)
    for _ in range(500):
        det.update(1.0)
    assert det.detections
    assert det.n_seen == 1_001
    with pytest.raises(ValueError, match="NaN"):
        det.update(float("nan"))
    with pytest.raises(ConfigError, match="mode"):
        PageHinkleyDetector(mode="sideways")
    y, pred, _ = binary_window(100, 3)
    assert (
        PageHinkleyDetector().update_many(per_sample_loss(y, pred, kind="classification")).size == 0
    )
