"""Builders of small tuning runs on synthetic bars: pure noise, or a genuine edge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.config import Config, config_from_dict
from tests.conftest import make_bars


def ar_bars(n: int, *, seed: int, phi: float, start: str = "2015-01-01") -> pd.DataFrame:
    """Daily bars whose log returns are AR(1) with coefficient ``phi``: yesterday's return
    predicts today's direction (a genuine, learnable edge)."""
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0, 0.01, n)
    returns = np.zeros(n)
    for i in range(1, n):  # a recursion: a loop over a few hundred values is the clear way
        returns[i] = phi * returns[i - 1] + shocks[i]
    close = 100.0 * np.exp(np.cumsum(returns))
    open_ = np.r_[100.0, close[:-1]]
    index = pd.date_range(start, periods=n, freq="D", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.999,
            "close": close,
            "volume": 1e6,
        },
        index=index,
    )


def noise_bars(n: int, *, seed: int) -> pd.DataFrame:
    """A geometric random walk: nothing to learn."""
    return make_bars(n, seed=seed, start="2015-01-01")


def synthetic_raw(
    tmp: Path,
    bars: pd.DataFrame,
    *,
    params: dict[str, Any],
    n_trials: int,
    n_splits: int,
    seed: int,
    storage: str = "sqlite:///:memory:",
    **tuning: Any,
) -> dict[str, Any]:
    """A one-step direction model on ``bars`` (written to ``tmp/bars.csv``), lagged-return
    features, a small xgboost space."""
    path = tmp / "bars.csv"
    bars.reset_index().to_csv(path, index=False)
    return {
        "name": "synthetic",
        "seed": seed,
        "data": {"source": str(path)},
        "features": [{"name": "log_return", "windows": [1, 2, 5]}],
        "label": {"name": "direction", "horizon": 1},
        "model": {"type": "xgboost", "params": {"n_jobs": 1, **params}},
        "cv": {"n_splits": n_splits},
        "registry": {"root": str(tmp / "models")},
        "store": {"url": f"sqlite:///{tmp / 'store.db'}"},
        "tuning": {
            "storage": storage,
            "n_trials": n_trials,
            "search_space": {
                "n_estimators": {"low": 10, "high": 40},
                "max_depth": {"low": 2, "high": 4},
            },
            **tuning,
        },
    }


def synthetic_config(tmp: Path, bars: pd.DataFrame, **kwargs: Any) -> Config:
    """:func:`synthetic_raw` validated."""
    return config_from_dict(synthetic_raw(tmp, bars, **kwargs))
