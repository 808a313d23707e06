"""Shared data and models of the online tests: synthetic bars with a regime change."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mltrainer.features import compute_features
from mltrainer.labels import make_labels
from mltrainer.models import make_model

SPEC: list[dict[str, Any]] = [
    {"name": "log_return", "windows": [1, 2]},
    {"name": "rsi", "window": 3},
]
LABEL: dict[str, Any] = {"name": "direction", "horizon": 2}
#: a spec that reads every bar column (open through range, high/low in ATR, volume)
SPEC_ALL: list[dict[str, Any]] = [
    *SPEC,
    {"name": "atr", "window": 3},
    {"name": "volume_zscore", "window": 3},
    {"name": "range", "windows": [2]},
]


def regime_bars(n_a: int, n_b: int, *, phi: float = 0.7, seed: int = 0) -> pd.DataFrame:
    """Daily bars whose returns are autocorrelated +phi for n_a bars, then -phi."""
    rng = np.random.default_rng(seed)
    n = n_a + n_b
    r = np.zeros(n)
    e = rng.normal(0.0, 0.01, n)
    for t in range(1, n):
        r[t] = (phi if t < n_a else -phi) * r[t - 1] + e[t]
    close = 100.0 * np.exp(np.cumsum(r))
    spread = np.abs(rng.normal(0.0, 0.003, n))
    index = pd.date_range("2010-01-04 21:00", periods=n, freq="D", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": close * np.exp(rng.normal(0.0, 0.001, n)).clip(1 - spread, 1 + spread),
            "high": close * (1 + spread) * 1.002,
            "low": close * (1 - spread) * 0.998,
            "close": close,
            "volume": rng.lognormal(12.0, 0.5, n),
        },
        index=index,
    )


def training_rows(
    bars: pd.DataFrame, spec: Any = None, label: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Complete feature rows and class indices of ``bars`` (direction classes are 0/1)."""
    X = compute_features(bars, spec or SPEC)
    labels = make_labels(bars, label or LABEL)
    ok = X.notna().all(axis=1).to_numpy() & labels.valid
    return X.to_numpy()[ok], labels.y.to_numpy()[ok].astype(np.int64)


def fit(model_type: str, bars: pd.DataFrame, *, spec: Any = None, **params: Any) -> Any:
    X, y = training_rows(bars, spec)
    return make_model(model_type, "classification", params, random_state=0).fit(X, y)


@pytest.fixture(scope="session")
def bars() -> pd.DataFrame:
    """1,000 bars: 600 of momentum, then 400 of reversal."""
    return regime_bars(600, 400)
