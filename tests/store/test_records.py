"""The records module: key builders, the name rule, typed records, and no stray keys in src/."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mltrainer.exceptions import ConfigError, StoreError
from mltrainer.store import (
    TUNING_LEAVES,
    Alert,
    BestParams,
    MetricPoint,
    TrainScores,
    TuningRun,
    alert_last_fired_key,
    alerts_key,
    decisions_stream,
    drift_latest_key,
    metric_point_key,
    metric_series,
    stream_checkpoint_key,
    stream_offset_key,
    stream_status_key,
    tracked_metrics_key,
    train_latest_key,
    train_scores_series,
    tuning_key,
    valid_name,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "mltrainer"


def test_key_builders_give_the_documented_schema() -> None:
    assert train_scores_series("spy") == "train/spy/scores"
    assert train_latest_key("spy") == "train/spy/latest"
    assert [tuning_key("spy", "xgboost", leaf) for leaf in TUNING_LEAVES] == [
        "tuning/spy/xgboost/best",
        "tuning/spy/xgboost/last",
        "tuning/spy/xgboost/history",
        "tuning/spy/xgboost/last_run",
    ]
    assert metric_series("spy", "drift.n_drifted") == "monitor/spy/drift.n_drifted"
    assert tracked_metrics_key("spy") == "monitor/spy/metrics"
    assert drift_latest_key("spy") == "monitor/spy/drift/latest"
    assert alerts_key("spy") == "alerts/spy"
    assert alert_last_fired_key("spy", "auc-low") == "alerts/spy/auc-low/last_fired"
    assert decisions_stream("spy") == "decisions/spy"
    assert stream_offset_key("spy") == "stream/spy/offset"
    assert stream_checkpoint_key("spy") == "stream/spy/checkpoint"
    assert stream_status_key("spy") == "stream/spy/status"
    docs = (SRC.parents[1] / "docs" / "store.md").read_text()
    for key in ("train/<model>/scores", "monitor/<model>/<metric>", "decisions/<model>"):
        assert f"`{key}`" in docs


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: metric_series("spy", "a/b"), "metric name 'a/b' is invalid"),
        (lambda: metric_series("a b", "x"), "model name 'a b' is invalid"),
        (lambda: alert_last_fired_key("spy", "-r"), "rule name '-r' is invalid"),
        (lambda: tuning_key("spy", "xg boost", "best"), "model type 'xg boost'"),
        (lambda: tuning_key("spy", "xgboost", "worst"), "tuning record 'worst' is unknown"),
        (lambda: train_latest_key(""), "model name '' is invalid"),
        (lambda: alerts_key(None), "model name None is invalid"),
        (lambda: metric_point_key(True, 0.0), "version=True is invalid"),
        (lambda: metric_point_key(1, "yesterday"), "timestamp='yesterday'"),
    ],
)
def test_names_are_checked_by_one_rule(build: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        build()
    assert "\n" not in str(info.value)


def test_valid_name_accepts_the_registry_names() -> None:
    for name in ("spy", "SPY-direction_2", "drift.share_drifted", "0dte"):
        assert valid_name(name) == name


def test_metric_point_key_is_one_per_version_and_time() -> None:
    when = datetime(2025, 3, 1, 12, 30, 0, 250000, tzinfo=UTC)
    key = metric_point_key(3, when)
    assert key == "3@2025-03-01T12:30:00.250000Z"
    assert metric_point_key(3, pd.Timestamp(when)) == key  # same time, any type
    assert metric_point_key(3, when.timestamp()) == key
    assert metric_point_key(4, when) != key
    assert metric_point_key(None, when) == "none@2025-03-01T12:30:00.250000Z"


def test_records_round_trip_and_ignore_unknown_fields() -> None:
    scores = TrainScores(version=2, scores={"roc_auc": 0.55}, cv="purged_kfold", path="m/2")
    assert TrainScores.from_dict(scores.to_dict()) == scores
    best = BestParams(
        params={"max_depth": 3},
        score=0.56,
        scorer="roc_auc",
        study="s",
        storage="sqlite:///x.db",
        n_trials=20,
        time="2025-03-01T00:00:00+00:00",
        p_value=0.01,
        fixed_score=0.52,
    )
    assert BestParams.from_dict({**best.to_dict(), "from_the_future": 1}) == best
    run = TuningRun(time="2025-03-01T00:00:00+00:00")
    assert TuningRun.from_dict(run.to_dict()).epoch == 1740787200.0
    alert = Alert(
        model="spy",
        rule="r",
        metric="roc_auc",
        op="below",
        threshold=0.5,
        value=0.4,
        window=1,
        timestamp="2025-03-01T00:00:00+00:00",
        version=2,
        action="none",
        message="m",
    )
    assert Alert.from_dict(alert.to_dict()) == alert
    with pytest.raises(StoreError, match=r"alert record lacks rule, metric"):
        Alert.from_dict({"model": "spy"})
    with pytest.raises(StoreError, match="not a JSON object but list"):
        TrainScores.from_dict([1, 2])


def test_metric_point_never_stores_nan_as_a_number() -> None:
    assert MetricPoint.measure(0.5, version=3).to_dict() == {"value": 0.5, "version": 3}
    assert MetricPoint.measure(True).to_dict() == {"value": 1.0}
    assert MetricPoint.measure(float("nan"), reason="one class").to_dict() == {
        "value": None,
        "reason": "one class",
    }
    assert MetricPoint.measure(float("-inf")).reason == "infinite"
    assert MetricPoint.from_dict({"value": None, "reason": "NaN"}).value is None
    with pytest.raises(ConfigError, match="not a number"):
        MetricPoint.measure("high")


_STORE_KEY = re.compile(r"""f["'](?:train|tuning|monitor|alerts|decisions|stream)/""")


def test_no_store_key_is_built_outside_the_records_module() -> None:
    stray = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "_records.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if _STORE_KEY.search(line)
    ]
    assert stray == []
