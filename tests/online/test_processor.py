"""StreamProcessor: bad input, schema checks, updaters, cold start, River, drift refits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from river import linear_model

from mltrainer.exceptions import ConfigError, SchemaError
from mltrainer.features import compute_features
from mltrainer.models import make_model
from mltrainer.online import (
    LightGBMContinue,
    LightGBMRefit,
    RefitPolicy,
    RingBuffer,
    StreamProcessor,
    XGBoostContinue,
    noise_band,
    replay,
)
from mltrainer.registry import ModelRegistry, load_model

from .conftest import LABEL, SPEC, SPEC_ALL, fit, regime_bars


def _bar(bars: pd.DataFrame, i: int, **changes: Any) -> dict[str, Any]:
    return {"timestamp": bars.index[i], **bars.iloc[i].to_dict(), **changes}


def _feed(processor: StreamProcessor, bars: pd.DataFrame) -> list[Any]:
    return [processor.process(_bar(bars, i)) for i in range(len(bars))]


def test_bad_bars_are_refused_counted_and_never_learnt(bars: pd.DataFrame) -> None:
    model = fit("sgd", bars.iloc[:300], spec=SPEC_ALL)
    processor = StreamProcessor(model, SPEC_ALL, LABEL, detector=False)
    clean = bars.iloc[300:360]
    _feed(processor, clean.iloc[:20])
    before = processor.updater.state()["sgd_w"].copy()
    learned = processor.counters.learned
    cases = [
        (_bar(clean, 19), "rejected", "duplicate bar at"),
        (_bar(clean, 5), "rejected", "out of order bar at"),
        (_bar(clean, 20, close=float("nan")), "invalid", "column 'close' is nan"),
        (
            {k: v for k, v in _bar(clean, 20).items() if k != "close"},
            "invalid",
            "missing column 'close'",
        ),
        ({k: v for k, v in _bar(clean, 20).items() if k != "timestamp"}, "invalid", "no timestamp"),
        (_bar(clean, 20, timestamp="2011-01-01 10:00"), "invalid", "has no UTC offset"),
        (_bar(clean, 20, high=1.0), "invalid", "OHLC out of order"),
        (_bar(clean, 20, low=0.0), "invalid", "price 'low' is 0.0"),
        (_bar(clean, 20, close="abc"), "invalid", "is not a number"),
        (_bar(clean, 20, volume=-5.0), "invalid", "volume is -5.0"),
        ("not a bar", "invalid", "must be a mapping"),
    ]
    for bar, status, reason in cases:
        out = processor.process(bar)
        assert out.status == status
        assert reason in out.reason
        assert out.value is None
    assert processor.counters.rejected == 2
    assert processor.counters.invalid == 9
    assert processor.counters.learned == learned
    np.testing.assert_array_equal(processor.updater.state()["sgd_w"], before)
    # the bad bars left no trace: the next bars predict as on clean bars
    rest = _feed(processor, clean.iloc[20:])
    twin = StreamProcessor(model, SPEC_ALL, LABEL, detector=False)
    clean_run = _feed(twin, clean)
    assert [p.proba for p in rest] == [p.proba for p in clean_run[20:]]


def test_symbol_of_another_stream_is_refused(bars: pd.DataFrame) -> None:
    processor = StreamProcessor(
        fit("sgd", bars.iloc[:300]), SPEC, LABEL, symbol="SPX", detector=False
    )
    out = processor.process(_bar(bars, 300, symbol="NDX"))
    assert out.status == "invalid"
    assert "symbol 'NDX'" in out.reason
    assert processor.process(_bar(bars, 301, symbol="SPX")).status == "warmup"


def test_schema_and_setting_errors(bars: pd.DataFrame) -> None:
    model = fit("sgd", bars.iloc[:300])
    with pytest.raises(
        SchemaError, match=r"reads \['rsi_14'\], which the feature spec does not produce"
    ):
        StreamProcessor(model, SPEC, LABEL, feature_names=["log_return_1", "rsi_14"])
    with pytest.raises(ConfigError, match="buffer has 4 features; the model reads 3"):
        StreamProcessor(model, SPEC, LABEL, buffer=RingBuffer(10, n_features=4))
    with pytest.raises(ConfigError, match="exceeds the buffer capacity 10"):
        StreamProcessor(model, SPEC, LABEL, buffer=RingBuffer(10, n_features=3), update="batch:11")
    with pytest.raises(
        ConfigError, match="update='weekly' is invalid; use 'every_bar' or 'batch:N'"
    ):
        StreamProcessor(model, SPEC, LABEL, update="weekly")
    with pytest.raises(ConfigError, match="the model predicts 2 classes but the label has 3"):
        StreamProcessor(model, SPEC, {"name": "triple_barrier", "horizon": 3})
    with pytest.raises(ConfigError, match="label= is needed"):
        StreamProcessor(model, SPEC)


def test_a_model_that_cannot_update_names_those_that_can(bars: pd.DataFrame) -> None:
    forest = fit("random_forest", bars.iloc[:300], n_estimators=5)
    message = (
        "model type 'random_forest' cannot update online (its updates: none); types that can: "
        "xgboost (continue); lightgbm (continue, refit); sgd (partial_fit)"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        StreamProcessor(forest, SPEC, LABEL)
    with pytest.raises(ConfigError, match="model type 'sgd' cannot update with 'continue'"):
        StreamProcessor(fit("sgd", bars.iloc[:300]), SPEC, LABEL, updater="continue")
    with pytest.raises(ConfigError, match="updater 'magic' is unknown"):
        StreamProcessor(fit("sgd", bars.iloc[:300]), SPEC, LABEL, updater="magic")
    frozen = StreamProcessor(forest, SPEC, LABEL, updater="none", detector=False)
    outputs = _feed(frozen, bars.iloc[300:420])
    assert outputs[-1].status == "ok"
    assert frozen.counters.learned == frozen.counters.matured > 0  # handed over, nothing changes


def test_sgd_learns_every_bar_as_partial_fit_would(bars: pd.DataFrame) -> None:
    model = fit("sgd", bars.iloc[:300])
    processor = StreamProcessor(model, SPEC, LABEL, detector=False)
    _feed(processor, bars.iloc[300:500])
    reference = fit("sgd", bars.iloc[:300])
    learnt = processor.buffer.snapshot()
    for x, target in zip(learnt["X"], learnt["y"], strict=True):
        reference[-1].partial_fit(reference[0].transform(x[None]), [int(target)])
    np.testing.assert_allclose(
        processor.updater.estimator()[-1].coef_, reference[-1].coef_, rtol=1e-9
    )
    assert len(learnt["X"]) == processor.counters.learned > 150


def test_cold_start_sgd_predicts_after_its_first_update(bars: pd.DataFrame) -> None:
    cold = make_model("sgd", "classification", random_state=0)
    processor = StreamProcessor(cold, SPEC, LABEL, update="batch:20", detector=False)
    outputs = _feed(processor, bars.iloc[:200])
    statuses = [p.status for p in outputs]
    assert "cold" in statuses
    first_ok = statuses.index("ok")
    assert all(s != "ok" for s in statuses[:first_ok])
    assert statuses[-1] == "ok"
    assert processor.counters.learned >= 20
    assert processor.updater.estimator()[-1].classes_.tolist() == [0, 1]


def test_river_adapter_equals_river_itself(bars: pd.DataFrame) -> None:
    names = ["log_return_1", "log_return_2", "rsi_3"]
    processor = StreamProcessor(
        linear_model.LogisticRegression(), SPEC, LABEL, feature_names=names, detector=False
    )
    outputs = _feed(processor, bars.iloc[:200])
    twin = linear_model.LogisticRegression()
    learnt = processor.buffer.snapshot()
    for x, target in zip(learnt["X"], learnt["y"], strict=True):
        twin.learn_one(dict(zip(names, x.tolist(), strict=True)), bool(target == 1))
    x_last = compute_features(bars.iloc[:200], SPEC).to_numpy()[-1]
    expected = twin.predict_proba_one(dict(zip(names, x_last.tolist(), strict=True)))[True]
    assert outputs[-1].status == "ok"
    assert processor.updater.predict_row(x_last)[1] == pytest.approx(expected, rel=1e-12)
    assert processor.updater.estimator() is None  # no registry format for River models


def test_xgboost_appends_trees_then_refreshes_at_the_cap(bars: pd.DataFrame) -> None:
    model = fit("xgboost", bars.iloc[:300], n_estimators=20)
    updater = XGBoostContinue(trees_per_update=5, max_trees=30)
    processor = StreamProcessor(
        model, SPEC, LABEL, updater=updater, update="batch:40", detector=False
    )
    _feed(processor, bars.iloc[300:620])
    booster = processor.updater._booster
    assert processor.updater.n_updates == processor.counters.learned // 40 >= 5
    assert booster.num_boosted_rounds() == 30  # 20 + 2 x 5, then refreshed
    assert updater.n_refreshed >= 3
    X = compute_features(bars.iloc[500:620], SPEC).to_numpy()
    library = processor.updater.estimator().predict_proba(X)
    fast = np.array([processor.updater.predict_row(x) for x in X])
    np.testing.assert_allclose(fast, library, atol=1e-6)
    assert processor.updater.native_params["objective"] == "binary:logistic"


@pytest.mark.parametrize(
    "updater", [LightGBMRefit(decay_rate=0.5), LightGBMContinue(trees_per_update=3)]
)
def test_lightgbm_updates_change_the_booster(bars: pd.DataFrame, updater: Any) -> None:
    model = fit("lightgbm", bars.iloc[:300], n_estimators=15)
    processor = StreamProcessor(
        model, SPEC, LABEL, updater=updater, update="batch:50", detector=False
    )
    X = compute_features(bars.iloc[280:300], SPEC).to_numpy()
    before = np.array([processor.updater.predict_row(x) for x in X])
    np.testing.assert_allclose(before, model.predict_proba(X), atol=1e-9)
    _feed(processor, bars.iloc[300:520])
    after = np.array([processor.updater.predict_row(x) for x in X])
    assert processor.updater.n_updates >= 3
    assert not np.allclose(before, after)
    trees = processor.updater._booster.num_trees()
    if updater.method == "refit":
        assert trees == 15
    else:  # LightGBM stops a round early when no leaf meets min_child_samples (small windows)
        assert (
            15 + 3 * (processor.updater.n_updates - 1)
            <= trees
            <= 15 + 3 * processor.updater.n_updates
        )


def test_noise_band_uses_block_means() -> None:
    d = np.arange(12, dtype=float)
    means = d.reshape(4, 3).mean(axis=1)
    expected = 2.0 * means.std(ddof=1) / np.sqrt(4)
    assert noise_band(d, block=3, z=2.0) == pytest.approx(expected)
    assert noise_band(d[:5], block=3, z=2.0) == float("inf")  # fewer than two blocks


class FireAt:
    """A detector that fires once, at the n-th loss it sees."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0
        self.drift_detected = False
        self.width = 400

    def update(self, value: float) -> None:
        self.seen += 1
        self.drift_detected = self.seen == self.n


def _registered(tmp_path: Path, bars: pd.DataFrame, n_train: int = 300) -> Any:
    model = fit("sgd", bars.iloc[:n_train])
    registry = ModelRegistry(tmp_path / "models")
    metadata = {
        "features": {"spec": SPEC},
        "label": {**LABEL, "kind": "classification", "classes": [0.0, 1.0]},
        "task": "classification",
        "params": {
            k: v for k, v in model.get_params(deep=True).items() if isinstance(v, int | float | str)
        },
        "config": {"seed": 0},
    }
    registry.save(
        "regime", model, feature_names=["log_return_1", "log_return_2", "rsi_3"], metadata=metadata
    )
    return load_model("regime", root=tmp_path / "models")


def test_drift_refit_is_saved_with_lineage_and_reason(tmp_path: Path) -> None:
    bars = regime_bars(1100, 700, phi=0.8, seed=4)
    model = _registered(tmp_path, bars)
    processor = StreamProcessor(
        model, updater="none", refit=RefitPolicy(eval_rows=80, min_train_rows=150)
    )
    result = replay(processor, bars, start=bars.index[900])
    refits = [e for e in result.events if e["type"] == "refit"]
    accepted = [e for e in refits if e["refit"]["accepted"]]
    assert [e["type"] for e in result.events].count("drift") >= 1
    assert accepted, result.events
    registry = ModelRegistry(tmp_path / "models")
    new = accepted[0]["new_version"]
    assert result.versions[0] == new == 2
    assert registry.lineage("regime", new) == [1]
    meta = registry.metadata("regime", new)
    assert "drift detected by ADWINDetector" in meta["online"]["reason"]
    assert meta["online"]["refit"]["accepted"] is True
    assert meta["online"]["refit"]["difference"] > meta["online"]["refit"]["band"]
    assert meta["data"]["training_rows"] == accepted[0]["refit"]["n_train"]
    assert pd.Timestamp(meta["data"]["last_t1"]) < pd.Timestamp(accepted[0]["timestamp"])
    saved = load_model("regime", new, root=tmp_path / "models")
    X = compute_features(bars.iloc[-50:], SPEC).to_numpy()[-5:]
    assert saved.predict_proba(pd.DataFrame(X, columns=saved.feature_names)).shape == (5, 2)
    after = [p for p in result.predictions.itertuples() if p.timestamp > accepted[0]["timestamp"]]
    assert {p.version for p in after} >= {new}


def test_a_candidate_that_does_not_beat_the_band_is_not_swapped(tmp_path: Path) -> None:
    bars = regime_bars(2200, 0, seed=5)  # one regime: a refit has nothing to win
    model = _registered(tmp_path, bars, n_train=1400)
    policy = RefitPolicy(eval_rows=100, min_train_rows=200)
    processor = StreamProcessor(model, updater="none", detector=FireAt(50), refit=policy)
    result = replay(processor, bars, start=bars.index[1400])
    refits = [e for e in result.events if e["type"] == "refit"]
    assert refits
    assert not any(e["refit"]["accepted"] for e in refits)
    assert any("does not beat" in e["refit"]["reason"] for e in refits)
    assert result.versions == []
    assert processor.version == 1
    assert ModelRegistry(tmp_path / "models").list_versions("regime")[-1]["version"] == 1
