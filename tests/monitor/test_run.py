"""Monitoring runs end to end: the reference saved at training, `monitor`, retrain, report,
bad input, and the `monitor` / `history` commands. One tiny model trained per module."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
import yaml

from mltrainer import Trainer, load_bars, load_model
from mltrainer.cli import main
from mltrainer.config import Config, config_from_dict
from mltrainer.exceptions import ConfigError, DataError, NotFoundError, SchemaError
from mltrainer.monitor import (
    PrometheusExporter,
    history,
    load_reference,
    monitor,
    read_labels,
    recent_alerts,
)
from mltrainer.monitor._window import current_window
from mltrainer.pipeline import retrain
from mltrainer.registry import ModelRegistry
from mltrainer.store import open_store
from tests.conftest import run_raw


def _raw(tmp: Path, **monitor_section: Any) -> dict[str, Any]:
    return run_raw(
        tmp,
        name="mon",
        data={"start": "2012-01-01", "end": "2016-12-31"},
        model={"type": "logistic"},  # fast and single-threaded: the monitor is under test
        monitor=monitor_section,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Config]:
    tmp = tmp_path_factory.mktemp("monitor")
    config = config_from_dict(_raw(tmp))
    Trainer(config).run()
    return tmp, config


@pytest.fixture(scope="module")
def current_bars() -> pd.DataFrame:
    return load_bars("sp500", start="2017-01-01")


def test_trainer_saves_the_reference_with_the_version(trained: tuple[Path, Config]) -> None:
    tmp, _ = trained
    model = load_model("mon", 1, root=tmp / "models")
    manifest = json.loads((model.path / "MANIFEST.json").read_text())
    assert {"profile.json", "reference_sample.json"} <= set(manifest["files"])
    profile, sample = load_reference(model)
    assert profile.feature_names == model.feature_names
    assert list(profile.predictions) == ["prediction", "proba_1"]
    assert profile.kind == "classification"
    assert profile.labels is not None
    assert profile.labels.categorical
    assert profile.labels.categories == [0.0, 1.0]
    assert set(profile.metrics) == {"roc_auc", "accuracy", "neg_log_loss"}
    assert profile.metrics["roc_auc"] == pytest.approx(model.metadata["scores"]["mean"]["roc_auc"])
    assert sample is not None
    assert list(sample.columns) == ["label", "prediction", "proba_1"]
    assert sample.index.is_monotonic_increasing
    assert sample.notna().all().all()
    assert set(np.unique(sample["prediction"])) <= {0.0, 1.0}
    assert sample.index[-1] <= pd.Timestamp(model.metadata["data"]["last_t1"])


def test_monitor_on_new_bars_records_everything(
    trained: tuple[Path, Config], current_bars: pd.DataFrame, tmp_path: Path
) -> None:
    _, config = trained
    exporter = PrometheusExporter()
    when = pd.Timestamp("2030-01-01", tz="UTC")
    result = monitor(
        "mon",
        bars=current_bars,
        config=config,
        timestamp=when,
        exporter=exporter,
        report=tmp_path / "report.html",
    )
    assert result.version == 1
    assert result.timestamp == when
    n = len(result.window.X) if result.window else 0
    assert result.metrics["n_rows"] == n > 400
    assert result.metrics["n_labelled"] == n - 5  # the last 5 bars have no 5-bar label yet
    assert 0.3 < result.metrics["roc_auc"] < 0.7
    assert {"accuracy", "log_loss", "hit_rate", "sharpe"} <= set(result.metrics)
    assert result.metrics["drift.n_drifted"] == len(result.drifted)
    assert {"concept.difference", "label_drift.drifted"} <= set(result.metrics)
    # 2017-18 volatility differs most from 2012-16 (though not beyond what 2012-16's own
    # windows did, so nothing need be flagged): volatility features move the farthest
    ranked = result.feature_drift.table["wasserstein"].sort_values(ascending=False)
    assert all(name.startswith(("volatility_", "atr_", "parkinson_")) for name in ranked.index[:3])
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        auc = history(store, "mon", "roc_auc")
    assert auc.index[-1] == when
    assert auc.iloc[-1] == pytest.approx(result.metrics["roc_auc"])
    text = exporter.render().decode()
    assert 'mltrainer_monitor_metric{metric="roc_auc",model="mon"}' in text
    assert 'mltrainer_feature_drifted{feature="volatility_60",model="mon"}' in text
    html = (tmp_path / "report.html").read_text()
    assert '<script src="http' not in html  # JS embedded: opens offline
    assert all(name in html for name in result.feature_drift.table.index)
    assert "Metric history" in html
    assert "Reference vs current distribution" in html
    json.dumps(result.to_dict(), allow_nan=False)


def test_training_rows_do_not_drift(trained: tuple[Path, Config]) -> None:
    tmp, config = trained
    model = load_model("mon", root=tmp / "models")
    window = current_window(
        model,
        bars=load_bars("sp500", start="2012-01-01", end="2016-12-31"),
        allow_training_rows=True,
    )
    part = window.X.sample(500, random_state=0).sort_index()  # drawn from the reference itself
    result = monitor(
        "mon",
        features=part,
        config=config,
        timestamp=pd.Timestamp("2031-01-01"),
        allow_training_rows=True,
    )
    assert result.metrics["drift.n_drifted"] == 0
    # (predictions may drift here: the final model fitted these rows, the reference is OOF)
    assert result.metrics["n_labelled"] == 0
    assert "roc_auc" not in result.metrics  # no labels: drift only


def test_given_labels_file_is_used(
    trained: tuple[Path, Config], current_bars: pd.DataFrame, tmp_path: Path
) -> None:
    _, config = trained
    stamps = current_bars.index[:300]
    path = tmp_path / "labels.csv"
    # bars are stamped at their close (21:00/20:00 UTC): the labels carry the same instants
    pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%S%z"), "label": 1.0}).to_csv(
        path, index=False
    )
    labels = read_labels(path)
    result = monitor(
        "mon", bars=current_bars, labels=labels, config=config, timestamp=pd.Timestamp("2032-01-01")
    )
    assert 200 < result.metrics["n_labelled"] <= 300  # warm-up rows have no features
    assert result.metrics["label_drift.drifted"] == 1.0  # all ones vs ~55 % ones in training
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"timestamp": ["2017-01-03"], "y": [1.0]}).to_csv(bad, index=False)
    with pytest.raises(DataError, match="name the label column 'label'"):
        read_labels(bad)
    with pytest.raises(NotFoundError, match="not found"):
        read_labels(tmp_path / "missing.csv")


def test_cli_monitor_reads_date_only_labels_on_the_bars_clock(
    trained: tuple[Path, Config],
    current_bars: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, config = trained
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    data = tmp_path / "current.csv"
    current_bars.reset_index().to_csv(data, index=False)
    # dates, as exported by most tools: each names a trading day, whose bar closes at 16:00
    # New York; read as midnight UTC they would match no bar
    days = current_bars.index[:300].tz_convert("America/New_York").strftime("%Y-%m-%d")
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"date": days, "label": 1.0}).to_csv(labels, index=False)
    args = ["monitor", "mon", "--data", str(data), "--config", str(config_file)]
    assert main([*args, "--labels", str(labels), "--timestamp", "2034-01-01"]) == 0
    out = capsys.readouterr().out
    labelled = int(re.search(r"rows, (\d+) labelled", out)[1])  # type: ignore[index]
    assert 200 < labelled <= 300  # every complete row of those 300 days: warm-up aside


def test_bad_current_data_gives_clear_errors(
    trained: tuple[Path, Config], current_bars: pd.DataFrame
) -> None:
    tmp, config = trained
    model = load_model("mon", root=tmp / "models")
    X = current_window(model, bars=current_bars).X
    with pytest.raises(SchemaError, match=r"lack feature\(s\) \['rsi_14'\]"):
        monitor("mon", features=X.drop(columns=["rsi_14"]), config=config)
    with pytest.raises(DataError, match="feature 'rsi_14' is str"):
        monitor("mon", features=X.assign(rsi_14=X["rsi_14"].astype(str)), config=config)
    with pytest.raises(DataError, match=r"empty \(0 rows\)"):
        monitor("mon", bars=current_bars.iloc[:0], config=config)
    with pytest.raises(DataError, match="warm-up"):
        monitor("mon", bars=current_bars.iloc[:10], config=config)
    with pytest.raises(DataError, match="missing column 'volume'"):
        monitor("mon", bars=current_bars.drop(columns=["volume"]), config=config)
    with pytest.raises(NotFoundError, match="no model named 'mno'"):
        monitor("mno", bars=current_bars, config=config)


def test_model_saved_without_profile_is_refused(
    trained: tuple[Path, Config], tmp_path: Path, current_bars: pd.DataFrame
) -> None:
    tmp, _ = trained
    model = load_model("mon", root=tmp / "models")
    meta = model.metadata
    ModelRegistry(tmp_path).save(  # as saved before monitoring existed: no extra files
        "old",
        model.estimator,
        feature_names=model.feature_names,
        metadata={key: meta[key] for key in ("features", "label", "config")},
    )
    other = config_from_dict({**_raw(tmp), "registry": {"root": str(tmp_path)}})
    with pytest.raises(NotFoundError, match=r"has no profile\.json"):
        monitor("old", bars=current_bars, config=other)


def test_alert_rule_retrains_and_records_the_new_version(
    tmp_path: Path, current_bars: pd.DataFrame
) -> None:
    rule = {
        "name": "drifting",
        "metric": "drift.max_psi",  # 2017-18 vs 2012-16: above 2
        "op": "above",
        "threshold": 0.25,
        "action": "retrain",
    }
    config = config_from_dict(_raw(tmp_path, rules=[rule], sinks={"log": False}))
    Trainer(config).run()

    def again_with(model: Any, until: pd.Timestamp) -> int:
        return retrain(model, until, config=config)

    result = monitor(
        "mon", bars=current_bars, config=config, timestamp="2019-01-01", retrain=again_with
    )
    assert [a.rule for a in result.alerts] == ["drifting"]
    assert result.alerts[0].new_version == 2
    registry = ModelRegistry(tmp_path / "models")
    assert registry.resolve("mon") == 2
    old, new = registry.metadata("mon", 1), registry.metadata("mon", 2)
    assert old["data"]["last_t1"] < "2017"  # trained up to 2016
    assert new["data"]["last_t1"] > "2018"  # retrained on the bars up to the run's time
    assert new["config"]["model"] == old["config"]["model"]
    assert new["parent"] == 1  # lineage: retrained from the monitored version
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        assert recent_alerts(store, "mon")[0]["new_version"] == 2
    again = monitor("mon", bars=current_bars, config=config, version=1, timestamp="2019-01-01")
    assert again.alerts == []  # cooldown (1h by default)
    # the model live on 2018-06-01 was version 1 (version 2 was fitted on those bars)
    backfill = monitor(
        "mon",
        bars=current_bars,
        config=config,
        version=1,
        timestamp="2018-06-01",
        retrain=again_with,
    )
    assert backfill.alerts[0].new_version == 3  # an older run time is no cooldown breach...
    last_t1 = pd.Timestamp(registry.metadata("mon", 3)["data"]["last_t1"])
    assert last_t1 <= pd.Timestamp("2018-06-01", tz="UTC")  # ...nor a leak of later bars


def test_cli_monitor_and_history(
    trained: tuple[Path, Config],
    current_bars: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, config = trained
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    data = tmp_path / "current.csv"
    current_bars.reset_index().to_csv(data, index=False)
    report = tmp_path / "cli.html"
    args = ["monitor", "mon", "--data", str(data), "--config", str(config_file)]
    code = main([*args, "--report", str(report), "--timestamp", "2033-01-01"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Feature drift of mon v1" in out
    assert "roc_auc" in out
    assert "features drifted" in out
    assert report.is_file()
    assert main(["history", "mon", "--config", str(config_file), "--metric", "roc_auc"]) == 0
    out = capsys.readouterr().out
    assert "2033-01-01" in out
    assert main(["history", "mon", "--config", str(config_file), "--last", "2"]) == 0
    assert "drift.n_drifted" in capsys.readouterr().out
    assert main(["history", "mon", "--config", str(config_file), "--metric", "roc_au"]) == 2
    assert "did you mean 'roc_auc'" in capsys.readouterr().err


def test_cli_serves_prometheus_metrics(
    trained: tuple[Path, Config],
    current_bars: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, config = trained
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    data = tmp_path / "current.csv"
    current_bars.reset_index().to_csv(data, index=False)
    scraped: list[str] = []
    real_serve = PrometheusExporter.serve

    def serve_and_scrape(self: PrometheusExporter, port: int, *, addr: str = "0.0.0.0") -> int:
        bound = real_serve(self, port, addr=addr)
        url = f"http://127.0.0.1:{bound}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            scraped.append(response.read().decode())
        return bound

    monkeypatch.setattr(PrometheusExporter, "serve", serve_and_scrape)
    args = ["monitor", "mon", "--data", str(data), "--config", str(config_file)]
    args += ["--metrics-port", "0", "--metrics-addr", "127.0.0.1", "--serve-for", "0.05"]
    assert main(args) == 0
    assert "Serving Prometheus metrics on http://127.0.0.1:" in capsys.readouterr().out
    assert 'mltrainer_monitor_metric{metric="drift.n_drifted",model="mon"}' in scraped[0]
    assert len(scraped) == 1


def test_monitor_history_and_alerts_on_every_backend(
    trained: tuple[Path, Config], current_bars: pd.DataFrame, store: Any
) -> None:
    _, config = trained
    rule = {"name": "drift", "metric": "drift.max_psi", "op": "above", "threshold": 0.25}
    config = config_from_dict(
        {**config.model_dump(mode="json"), "monitor": {"rules": [rule], "sinks": {"log": False}}}
    )
    for day in (1, 2):
        when = pd.Timestamp(f"2030-02-0{day}", tz="UTC")
        result = monitor("mon", bars=current_bars, config=config, timestamp=when, store=store)
        assert [a.rule for a in result.alerts] == ["drift"]  # a day apart: past the 1h cooldown
    drifted = history(store, "mon", "drift.n_drifted")
    assert list(drifted.index) == [pd.Timestamp(f"2030-02-0{d}", tz="UTC") for d in (1, 2)]
    assert drifted.iloc[-1] == len(result.drifted)
    assert len(recent_alerts(store, "mon")) == 2


def test_monitor_a_regression_model(tmp_path: Path, current_bars: pd.DataFrame) -> None:
    raw = _raw(tmp_path)
    raw["label"] = {"name": "forward_return", "horizon": 5}
    raw["model"] = {"type": "ridge"}
    config = config_from_dict(raw)
    Trainer(config).run()
    profile, sample = load_reference(load_model("mon", root=tmp_path / "models"))
    assert profile.kind == "regression"
    assert list(profile.predictions) == ["prediction"]
    assert sample is not None
    result = monitor("mon", bars=current_bars, config=config)
    assert {"mse", "mae", "r2", "directional_accuracy", "ic", "sharpe"} <= set(result.metrics)
    assert "roc_auc" not in result.metrics
    assert result.metrics["mse"] > 0


@pytest.mark.redis
def test_alerts_reach_a_redis_channel_from_the_config(
    trained: tuple[Path, Config], current_bars: pd.DataFrame, redis_url: str
) -> None:
    _, config = trained
    raw = config.model_dump(mode="json")
    rule = {"name": "drift", "metric": "drift.max_psi", "op": "above", "threshold": 0.25}
    raw["monitor"] = {"rules": [rule], "sinks": {"log": False, "redis_channel": "mon-alerts"}}
    no_redis = config_from_dict(raw)
    with pytest.raises(ConfigError, match="redis_url"):  # refused before anything is written
        monitor("mon", bars=current_bars, config=no_redis, timestamp="2040-01-01")
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        assert store.range("monitor/mon/n_rows", start=pd.Timestamp("2039-12-31")) == []
    raw["monitor"]["sinks"]["redis_url"] = redis_url
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    pubsub.subscribe("mon-alerts")
    assert pubsub.get_message(timeout=2) is not None  # the subscribe confirmation
    result = monitor("mon", bars=current_bars, config=config_from_dict(raw), timestamp="2040-01-02")
    message = pubsub.get_message(timeout=5)
    pubsub.close()
    client.close()
    assert message is not None
    assert json.loads(message["data"]) == result.alerts[0].to_dict()


def test_monitor_is_out_of_sample_and_sees_nothing_after_its_time(
    trained: tuple[Path, Config], current_bars: pd.DataFrame
) -> None:
    tmp, config = trained
    model = load_model("mon", root=tmp / "models")
    last_t1 = pd.Timestamp(model.metadata["data"]["last_t1"])
    history = load_bars("sp500", start="2012-01-01")
    window = current_window(model, bars=history)
    assert (window.X.index > last_t1).all()  # training rows would score in-sample
    with pytest.raises(DataError, match="training data"):
        current_window(model, bars=load_bars("sp500", start="2012-01-01", end="2016-12-31"))
    stamp = pd.Timestamp("2017-06-30", tz="UTC")
    backfill = monitor("mon", bars=current_bars, config=config, timestamp=stamp)
    assert backfill.metrics["n_rows"] <= len(current_bars.loc[:stamp])
    full = monitor("mon", bars=current_bars, config=config, timestamp="2030-01-01")
    assert backfill.metrics["n_rows"] < full.metrics["n_rows"]
