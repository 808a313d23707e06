"""Shared data for the explain tests: small seeded frames with known drivers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    """400 rows, 6 features (one categorical-like integer column), some structure."""
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(400, 5)), columns=[f"f{i}" for i in range(5)])
    X["dow"] = rng.integers(0, 5, 400).astype(float)
    return X


@pytest.fixture(scope="session")
def targets(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A binary, a three-class and a regression target driven by f0, f1 * f2 and f3."""
    rng = np.random.default_rng(11)
    score = frame["f0"] + frame["f1"] * frame["f2"] + 0.5 * frame["f3"]
    noisy = score + 0.5 * rng.normal(size=len(frame))
    return {
        "binary": (noisy > 0).astype(int).to_numpy(),
        "multiclass": np.digitize(noisy, [-0.6, 0.6]),
        "regression": (
            2.0 * frame["f0"] + frame["f3"] + 0.3 * rng.normal(size=len(frame))
        ).to_numpy(),
    }


def train_config(root: Any, name: str = "spx-dir", **sections: Any) -> Any:
    """A small, fast training config on the bundled S&P 500 bars (2012-2018)."""
    from mltrainer.config import config_from_dict

    raw: dict[str, Any] = {
        "name": name,
        "data": {"source": "sp500", "start": "2012-01-01"},
        "model": {"type": "xgboost", "params": {"n_estimators": 40}},
        "cv": {"n_splits": 3},
        "registry": {"root": str(root / "models")},
        "store": {"url": f"sqlite:///{root / 'store.db'}"},
        "explain": {"global_rows_per_fold": 100, "critical": {"probability_above": 0.6}},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return config_from_dict(raw)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(root, TrainResult) of one xgboost version with a critical rule in its config."""
    from mltrainer import Trainer

    root = tmp_path_factory.mktemp("explain-train")
    return root, Trainer(train_config(root)).run()
