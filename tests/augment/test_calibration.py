"""Recalibration on out-of-fold probabilities; the calibrated composite round-trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

from mltrainer.augment import brier_score, cross_fitted_calibration, fit_calibration, reliability
from mltrainer.exceptions import ConfigError
from mltrainer.models import CalibratedComposite, apply_calibration
from mltrainer.registry import ModelRegistry


def _overconfident(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.05, 0.95, size=n)
    y = (rng.uniform(size=n) < truth).astype(int)
    shown = 1 / (1 + np.exp(-3 * np.log(truth / (1 - truth))))  # pushed to the extremes
    return np.column_stack([1 - shown, shown]), y


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_recalibration_fixes_overconfident_probabilities(method: str) -> None:
    proba, y = _overconfident()
    calibrated = apply_calibration(fit_calibration(proba, y, method), proba)
    assert reliability(calibrated, y)["ece"] < reliability(proba, y)["ece"] / 3
    assert brier_score(calibrated, y) < brier_score(proba, y)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)


def test_multiclass_maps_renormalise() -> None:
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(3), size=500)
    y = rng.integers(0, 3, size=500)
    calibration = fit_calibration(proba, y, "isotonic")
    assert len(calibration["maps"]) == 3
    np.testing.assert_allclose(apply_calibration(calibration, proba).sum(axis=1), 1.0)


def test_cross_fitting_never_calibrates_a_block_with_its_own_rows() -> None:
    proba, y = _overconfident(n=500)
    t0 = pd.date_range("2020-01-01", periods=500, freq="D", tz="UTC")
    t1 = pd.Series(t0 + pd.Timedelta("5D"), index=t0)
    first = cross_fitted_calibration(proba, y, t0, t1, "isotonic", n_blocks=5)
    # changing the labels of the first block changes nothing in the first block
    y2 = y.copy()
    y2[:100] = 1 - y2[:100]
    second = cross_fitted_calibration(proba, y2, t0, t1, "isotonic", n_blocks=5)
    np.testing.assert_allclose(first[:100], second[:100])
    assert not np.allclose(first[100:], second[100:])


def test_unknown_recalibration_is_refused() -> None:
    proba, y = _overconfident(n=100)
    with pytest.raises(ConfigError, match="isotonic or platt"):
        fit_calibration(proba, y, "beta")


def test_calibrated_composite_is_one_registry_version(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (X["a"] + rng.normal(size=300) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    calibration = fit_calibration(model.predict_proba(X), y.to_numpy(), "isotonic")
    composite = CalibratedComposite(FrozenEstimator(model), calibration=calibration).fit(X, y)
    registry = ModelRegistry(tmp_path)
    registry.save("cal", composite, feature_names=["a", "b", "c"], metadata={})
    loaded = registry.load("cal")
    assert loaded.is_composite
    assert list(loaded.members) == ["model"]
    np.testing.assert_allclose(loaded.predict_proba(X), composite.predict_proba(X))
    np.testing.assert_allclose(
        composite.predict_proba(X), apply_calibration(calibration, model.predict_proba(X))
    )


def test_a_calibration_for_other_classes_is_refused() -> None:
    X, y = np.arange(20.0)[:, None], np.arange(20) % 2
    bad = {"method": "platt", "n_classes": 3, "maps": [{"a": 1, "b": 0}] * 3}
    with pytest.raises(ConfigError, match="for 2 classes"):
        CalibratedComposite(LogisticRegression(), calibration=bad).fit(X, y)
