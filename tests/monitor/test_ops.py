"""Monitoring operations: registry extra files, config, alerts, sinks, Prometheus. Alerts
run on SQLite and a real Redis (the ``store`` fixture); history is in test_history.py and
the store's trim in tests/store/test_store.py."""

from __future__ import annotations

import http.server
import json
import logging
import math
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
from sklearn.linear_model import LogisticRegression

from mltrainer.config import config_from_dict
from mltrainer.exceptions import ChecksumError, ConfigError
from mltrainer.monitor._alerts import ALERT_METRICS, evaluate_rules, recent_alerts
from mltrainer.monitor._history import track
from mltrainer.monitor._prometheus import PrometheusExporter
from mltrainer.monitor._sinks import LogSink, RedisChannelSink, WebhookSink, make_sinks
from mltrainer.registry import ModelRegistry
from mltrainer.store import Store

T0 = datetime(2025, 3, 1, tzinfo=UTC)


# -- registry: extra files covered by the manifest -----------------------------------------
@pytest.fixture
def fitted() -> tuple[LogisticRegression, pd.DataFrame]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    y = (X["a"] > 0).astype(int)
    return LogisticRegression().fit(X.to_numpy(), y), X


def test_registry_extra_files_round_trip_and_are_verified(
    tmp_path: Path, fitted: tuple[LogisticRegression, pd.DataFrame]
) -> None:
    model, _ = fitted
    registry = ModelRegistry(tmp_path)
    saved = registry.save(
        "m", model, feature_names=["a", "b"], extra_files={"profile.json": b'{"x": 1}'}
    )
    manifest = json.loads((saved.path / "MANIFEST.json").read_text())
    assert "profile.json" in manifest["files"]
    loaded = registry.load("m")
    assert loaded.read_file("profile.json") == b'{"x": 1}'
    with pytest.raises(ChecksumError, match=r"does not list 'nope\.json'"):
        loaded.read_file("nope.json")
    (saved.path / "profile.json").write_bytes(b'{"x": 2}')  # tampered after load
    with pytest.raises(ChecksumError, match=r"profile\.json has SHA-256"):
        loaded.read_file("profile.json")
    with pytest.raises(ChecksumError):
        registry.load("m")


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("metadata.json", b"{}", "invalid"),
        ("MANIFEST.json", b"{}", "invalid"),
        ("model.skops", b"", "invalid"),
        ("../escape.json", b"", "invalid"),
        ("sub/dir.json", b"", "invalid"),
        ("profile.json", "text", "pass bytes"),
    ],
)
def test_registry_extra_files_names_checked(
    tmp_path: Path,
    fitted: tuple[LogisticRegression, pd.DataFrame],
    name: str,
    data: Any,
    match: str,
) -> None:
    model, _ = fitted
    registry = ModelRegistry(tmp_path)
    with pytest.raises(ConfigError, match=match):
        registry.save("m", model, feature_names=["a", "b"], extra_files={name: data})
    assert registry.list_models() == []  # nothing half-written


# -- config ------------------------------------------------------------------------------------
def _rules(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"monitor": {"rules": list(rules)}}


def test_monitor_config_defaults_and_rules() -> None:
    config = config_from_dict(
        _rules(
            {"name": "auc-low", "metric": "roc_auc", "op": "below", "threshold": 0.5},
            {
                "name": "drift",
                "metric": "drift.share_drifted",
                "op": "above",
                "threshold": 0.2,
                "window": 3,
                "cooldown": "6h",
                "action": "retrain",
            },
        )
    )
    assert config.monitor.alpha == 0.05
    assert config.monitor.sinks.log is True
    assert config.monitor.retention.max_points == 10_000
    assert [r.name for r in config.monitor.rules] == ["auc-low", "drift"]
    assert config.monitor.rules[1].window == 3
    assert set(ALERT_METRICS) >= {"roc_auc", "drift.n_drifted", "concept.difference"}


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (
            _rules({"name": "r", "metric": "rocauc", "op": "below", "threshold": 0.5}),
            r"monitor\.rules\.0\.metric: unknown metric 'rocauc' \(did you mean 'roc_auc'\?\)",
        ),
        (
            _rules({"name": "r", "metric": "drift.n_drift", "op": "above", "threshold": 1}),
            r"did you mean 'drift\.n_drifted'",
        ),
        (
            _rules({"name": "r", "metric": "mse", "op": "over", "threshold": 1}),
            r"monitor\.rules\.0\.op",
        ),
        (
            _rules({"name": "r", "metric": "mse", "op": "above", "threshold": 1, "cooldwn": "1h"}),
            r"unknown key 'cooldwn' in an alert rule \(did you mean 'cooldown'\?\)",
        ),
        (
            _rules({"name": "r", "metric": "mse", "op": "above", "threshold": 1, "cooldown": "x"}),
            r"'x' is not a duration",
        ),
        (
            _rules(
                {"name": "r", "metric": "mse", "op": "above", "threshold": 1},
                {"name": "r", "metric": "mae", "op": "above", "threshold": 1},
            ),
            r"two alert rules are named 'r'",
        ),
        ({"monitor": {"alpha": 1.5}}, r"monitor\.alpha: alpha must be in \(0, 1\)"),
        ({"monitor": {"sinks": {"webhook": {"url": "ftp://x"}}}}, r"not an http\(s\) URL"),
        ({"monitor": {"retention": {"max_age": "soon"}}}, r"'soon' is not a duration"),
        ({"monitor": {"alpah": 0.1}}, r"Unknown key 'alpah' in monitor \(did you mean 'alpha'"),
    ],
)
def test_monitor_config_errors_are_one_line(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        config_from_dict(raw)
    assert "\n" not in str(info.value)


# -- alerts ----------------------------------------------------------------------------------
class _Collect:
    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []

    def send(self, alert: Any) -> bool:
        self.alerts.append(dict(alert))
        return True


class _Broken:
    def send(self, alert: Any) -> bool:
        raise RuntimeError("sink bug")


def _rule(**kwargs: Any) -> dict[str, Any]:
    base = {"name": "auc-low", "metric": "roc_auc", "op": "below", "threshold": 0.5}
    base.update({"window": 1, "cooldown": "1h", "action": "none"})
    return {**base, **kwargs}


def _run(store: Store, when: datetime, metrics: dict[str, float], rules: list[Any], **kw: Any):
    track(store, "spy", metrics, timestamp=when, version=kw.get("version"))
    return evaluate_rules(store, "spy", rules, current=metrics, timestamp=when, **kw)


def test_alerts_fire_respect_cooldown_and_survive_restart(
    store_opener: Any, caplog: pytest.LogCaptureFixture
) -> None:
    rules = [_rule(), _rule(name="drift", metric="drift.n_drifted", op="above", threshold=2)]
    collect = _Collect()
    with store_opener() as store:
        fired = _run(store, T0, {"roc_auc": 0.4}, rules, sinks=[collect, _Broken()], version=2)
        assert [a.rule for a in fired] == ["auc-low"]
        assert fired[0].value == pytest.approx(0.4)
        assert fired[0].version == 2
        assert "roc_auc = 0.4 is below 0.5" in fired[0].message
        # 30 min later: still breached, in cooldown
        assert _run(store, T0 + timedelta(minutes=30), {"roc_auc": 0.45}, rules) == []
    with store_opener() as store:  # a new process: the cooldown is in the store
        assert _run(store, T0 + timedelta(minutes=50), {"roc_auc": 0.4}, rules) == []
        fired = _run(store, T0 + timedelta(minutes=61), {"roc_auc": 0.4}, rules)
        assert [a.rule for a in fired] == ["auc-low"]
        assert _run(store, T0 + timedelta(hours=3), {"roc_auc": 0.7}, rules) == []  # fine
        records = recent_alerts(store, "spy")
    assert [r["timestamp"] for r in records] == [
        (T0 + timedelta(minutes=61)).isoformat(),
        T0.isoformat(),
    ]
    assert collect.alerts == [records[-1]]
    assert "sink bug" in caplog.text  # a raising sink is logged, monitoring goes on


def test_alert_window_mean_and_missing_current_metric(store: Store) -> None:
    rule = _rule(metric="drift.share_drifted", op="above", threshold=0.3, window=3, cooldown="0s")
    values = [0.1, 0.2, 0.9]  # mean 0.4 > 0.3 only when the 3 points are in
    fired = []
    for i, v in enumerate(values):
        fired = _run(store, T0 + timedelta(hours=i), {"drift.share_drifted": v}, [rule])
        if i == 1:
            assert fired == []
    assert len(fired) == 1
    assert fired[0].value == pytest.approx(0.4)
    assert "mean of last 3" in fired[0].message
    # a run without that metric (or with NaN) never re-fires on old points
    later = T0 + timedelta(hours=5)
    assert evaluate_rules(store, "spy", [rule], current={}, timestamp=later) == []
    assert (
        evaluate_rules(
            store, "spy", [rule], current={"drift.share_drifted": math.nan}, timestamp=later
        )
        == []
    )


def test_alert_retrain_action_records_new_version_or_error(store: Store) -> None:
    rule = _rule(action="retrain")
    fired = _run(store, T0, {"roc_auc": 0.1}, [rule], retrain=lambda: 7)
    assert fired[0].new_version == 7
    assert "retrained as version 7" in fired[0].message

    def broken() -> int:
        raise ConfigError("model.type 'nope' unknown")

    fired = _run(store, T0 + timedelta(hours=2), {"roc_auc": 0.1}, [rule], retrain=broken)
    assert fired[0].new_version is None
    assert "nope" in str(fired[0].error)
    assert recent_alerts(store, "spy", 1)[0]["error"] == fired[0].error


# -- sinks -----------------------------------------------------------------------------------
class _Hook(http.server.BaseHTTPRequestHandler):
    fail_first = 0
    received: list[dict[str, Any]]
    calls: int

    def do_POST(self) -> None:
        server: Any = self.server
        server.calls += 1
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if server.calls <= server.fail_first:
            self.send_response(500)
            self.end_headers()
            return
        server.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server() -> Iterator[Any]:
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.calls, server.fail_first, server.received = 0, 0, []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_retries_then_succeeds(hook_server: Any) -> None:
    hook_server.fail_first = 2
    waits: list[float] = []
    url = f"http://127.0.0.1:{hook_server.server_port}/hook"
    sink = WebhookSink(url, timeout=2, retries=3, backoff=0.25, sleep=waits.append)
    assert sink.send({"rule": "r", "value": 1.5}) is True
    assert hook_server.calls == 3
    assert hook_server.received == [{"rule": "r", "value": 1.5}]
    assert waits == [0.25, 0.5]  # exponential backoff


def test_failing_webhook_is_retried_logged_and_never_stops_monitoring(
    hook_server: Any, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    hook_server.fail_first = 10**6
    url = f"http://127.0.0.1:{hook_server.server_port}/hook"
    sink = WebhookSink(url, timeout=2, retries=2, backoff=0.0)
    with caplog.at_level(logging.INFO, logger="mltrainer"):
        fired = _run(store, T0, {"roc_auc": 0.2}, [_rule()], sinks=[sink])
    assert len(fired) == 1
    assert hook_server.calls == 3
    assert "failed 3 times" in caplog.text
    assert recent_alerts(store, "spy")[0]["rule"] == "auc-low"  # still recorded
    dead = WebhookSink("http://127.0.0.1:9/none", timeout=0.5, retries=1, backoff=0.0)
    assert dead.send({"rule": "x"}) is False  # connection refused: logged, not raised


def test_log_sink_and_make_sinks(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mltrainer"):
        assert LogSink().send({"message": "auc low"})
    assert "ALERT auc low" in caplog.text
    config = config_from_dict(
        {"monitor": {"sinks": {"webhook": {"url": "http://h/x"}, "redis_channel": "alerts"}}}
    )
    with pytest.raises(ConfigError, match="redis_url"):
        make_sinks(config.monitor.sinks, store_url="sqlite:///x.db")
    sinks = make_sinks(config.monitor.sinks, store_url="redis://127.0.0.1:1/0")
    assert [type(s).__name__ for s in sinks] == ["LogSink", "WebhookSink", "RedisChannelSink"]


@pytest.mark.redis
def test_redis_channel_sink_publishes(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    pubsub.subscribe("mltrainer-test-alerts")
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
    sink = RedisChannelSink(redis_url, "mltrainer-test-alerts")
    assert sink.send({"rule": "drift", "value": 3.0}) is True
    message = pubsub.get_message(timeout=5)
    assert message is not None
    assert json.loads(message["data"]) == {"rule": "drift", "value": 3.0}
    sink.close()
    pubsub.close()
    client.close()
    down = RedisChannelSink("redis://127.0.0.1:9/0", "x", timeout=0.5)
    assert down.send({"rule": "r"}) is False


# -- prometheus --------------------------------------------------------------------------------
def test_prometheus_gauges_scraped_over_loopback() -> None:
    exporter = PrometheusExporter()
    table = pd.DataFrame(
        {"drifted": [True, False], "psi": [0.4, 0.01], "p_adjusted": [1e-9, 0.7]},
        index=pd.Index(["ret_1", "rsi_14"], name="feature"),
    )
    exporter.observe(
        "spy",
        metrics={"roc_auc": 0.55, "ic": math.nan, "drift.n_drifted": 1},
        drift_table=table,
        alerts=[{"rule": "drift"}],
        version=4,
        timestamp=pd.Timestamp(T0),
    )
    port = exporter.serve(0, addr="127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        exporter.close()
    assert 'mltrainer_monitor_metric{metric="roc_auc",model="spy"} 0.55' in text
    assert 'mltrainer_monitor_metric{metric="ic",model="spy"} NaN' in text
    assert 'mltrainer_feature_drifted{feature="ret_1",model="spy"} 1.0' in text
    assert 'mltrainer_feature_drifted{feature="rsi_14",model="spy"} 0.0' in text
    assert 'mltrainer_feature_drift_psi{feature="ret_1",model="spy"} 0.4' in text
    assert 'mltrainer_model_version{model="spy"} 4.0' in text
    assert 'mltrainer_alerts_total{model="spy",rule="drift"} 1.0' in text
    last_run = 'mltrainer_monitor_last_run_timestamp_seconds{model="spy"} '
    line = next(row for row in text.splitlines() if row.startswith(last_run))
    assert float(line.split()[-1]) == T0.timestamp()
    assert "python_gc" not in text  # a dedicated registry, not the global default
    assert PrometheusExporter().render() != b""  # a second exporter does not clash
