"""The attribution profile as a drift signal: ``attribution.shift`` in monitoring runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mltrainer import Trainer, load_bars
from mltrainer.config import config_from_dict
from mltrainer.explain import attribution_profile, attribution_shift
from mltrainer.monitor import history, monitor
from mltrainer.pipeline import load_bars_for, model_features
from mltrainer.registry import load_model
from mltrainer.store import open_store
from mltrainer.vocabulary import DRIFT_STATISTICS, check_metric_name

from .conftest import train_config


def test_shift_is_small_on_like_rows_and_large_when_a_driver_moves(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("shift")
    Trainer(train_config(root, name="spx-lin", model={"type": "logistic", "params": {}})).run()
    model = load_model("spx-lin", root=root / "models")
    training = attribution_profile(model)
    assert training is not None
    assert set(training.index) == set(model.feature_names)
    X, _ = model_features(model, load_bars_for(model.metadata, "sp500", start="2012-01-01"))
    window = X.loc[:"2018-01-01"]
    same = attribution_shift(model, window)
    assert same is not None
    assert 0 <= same["shift"] < 0.25
    top = training.sort_values(ascending=False).index[0]
    loud = window.copy()
    loud[top] = loud[top].median() + 5 * (loud[top] - loud[top].median())  # 5x the swings
    moved = attribution_shift(model, loud)
    assert moved is not None
    assert moved["shift"] > same["shift"] + 0.1
    assert moved["current"][top] > 3 * same["current"][top]
    assert moved["n_rows"] == 500  # a seeded sample bounds the cost
    assert attribution_shift(model, X.iloc[:0]) is None


def test_monitoring_records_the_attribution_shift(trained: Any) -> None:
    root, _ = trained
    assert "attribution.shift" in DRIFT_STATISTICS
    assert check_metric_name("attribution.shift") == "attribution.shift"
    config = config_from_dict(
        {"name": "spx-dir", "registry": {"root": str(root / "models")},
         "store": {"url": f"sqlite:///{root / 'monitor.db'}"}}
    )  # fmt: skip
    bars = load_bars("sp500", start="2018-01-01")  # the bundled data ends where training did
    result = monitor("spx-dir", bars=bars, config=config, allow_training_rows=True)
    assert 0 <= result.metrics["attribution.shift"] <= 1
    with open_store(config.store.url) as store:
        points = history(store, "spx-dir", "attribution.shift")
    assert len(points) == 1
    assert np.isfinite(points.iloc[0])
    assert points.iloc[0] == pytest.approx(result.metrics["attribution.shift"])
