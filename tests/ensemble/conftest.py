"""Shared data for the ensemble tests: a daily series with 3-bar labels and two regimes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

HORIZON = 3


@dataclass(frozen=True)
class Series:
    X: pd.DataFrame
    y: pd.Series
    reg: pd.Series
    t1: pd.Series
    regime: np.ndarray


def make_series(n: int = 480, seed: int = 0) -> Series:
    """Features ``a``, ``b``, ``ret`` and ``vol``; the sign of ``a``'s effect flips with the
    (persistent) regime, which shows in the size of ``ret`` and ``vol``."""
    rng = np.random.default_rng(seed)
    stay = rng.random(n) < 0.97
    regime = np.zeros(n, dtype=int)
    for t in range(1, n):  # a two-state Markov chain (test data only)
        regime[t] = regime[t - 1] if stay[t] else 1 - regime[t - 1]
    index = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    sigma = np.where(regime == 1, 3.0, 1.0)
    ret = rng.normal(size=n) * sigma
    vol = pd.Series(np.abs(ret)).rolling(10, min_periods=1).mean().to_numpy()
    a, b = rng.normal(size=n), rng.normal(size=n)
    signal = np.where(regime == 1, -1.0, 1.0) * a + 0.3 * b
    X = pd.DataFrame({"a": a, "b": b, "ret": ret, "vol": vol}, index=index)
    y = pd.Series((signal + 0.5 * rng.normal(size=n) > 0).astype(int), index=index, name="y")
    reg = pd.Series(signal + 0.3 * rng.normal(size=n), index=index, name="y")
    t1 = pd.Series(index + pd.Timedelta(days=HORIZON), index=index, name="t1")
    return Series(X, y, reg, t1, regime)


@pytest.fixture(scope="session")
def series() -> Series:
    return make_series()
