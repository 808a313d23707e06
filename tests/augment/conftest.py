"""Small real datasets for the augmentation tests (bundled S&P 500 bars, short features)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from mltrainer.data import load_bars
from mltrainer.pipeline import build_dataset

FEATURES: list[dict[str, Any]] = [
    {"name": "log_return", "windows": [1, 5]},
    {"name": "volatility", "windows": [10]},
    {"name": "volume_zscore", "window": 10},
]
LABEL: dict[str, Any] = {"name": "triple_barrier", "horizon": 5, "vol_window": 10}


@pytest.fixture(scope="session")
def bars() -> pd.DataFrame:
    """S&P 500 daily bars, 2012-2015 (about 1,000 bars)."""
    return load_bars("sp500", start="2012-01-01", end="2015-12-31")


@pytest.fixture(scope="session")
def dataset(bars: pd.DataFrame) -> Any:
    """Triple-barrier labels (3 classes, imbalanced) on short causal features."""
    return build_dataset(bars, features=FEATURES, label=LABEL)
