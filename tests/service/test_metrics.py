"""Prometheus: /metrics scrapes and parses; request, prediction and store series are right."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mltrainer.monitor import history
from mltrainer.service import ServiceSettings, create_app
from mltrainer.store import open_store

from .conftest import TOKEN, Filled


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_parse_and_count(filled: Filled) -> None:
    app = create_app(filled.store_url, filled.registry, ServiceSettings(token=TOKEN))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.get("/api/models/spy")
        client.get("/api/models/spy")
        client.get("/api/models/nope")
        client.get("/not/a/route/at/all")
        row = {f: 0.0 for f in app.state.service.load("spy", None).feature_names}
        client.post(
            "/api/models/spy/predict",
            json={"rows": [row, row]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    ok = (
        "mltrainer_http_requests_total",
        (("method", "GET"), ("route", "/api/models/{name}"), ("status", "200")),
    )
    assert samples[ok] == 2.0
    missing = (
        "mltrainer_http_requests_total",
        (("method", "GET"), ("route", "/api/models/{name}"), ("status", "404")),
    )
    assert samples[missing] == 1.0
    assert not any("/not/a/route" in str(key) for key in samples)  # raw paths make no series
    assert samples[("mltrainer_predictions_total", (("model", "spy"),))] == 2.0
    assert samples[("mltrainer_store_up", ())] == 1.0
    assert samples[("mltrainer_model_latest_version", (("model", "spy"),))] == 2.0
    assert (
        samples[("mltrainer_model_alias_version", (("alias", "production"), ("model", "spy")))]
        == 1.0
    )
    with open_store(filled.store_url) as store:
        latest = history(store, "spy", "roc_auc").iloc[-1]
    assert (
        samples[("mltrainer_monitor_metric", (("metric", "roc_auc"), ("model", "spy")))] == latest
    )
    assert any(name == "mltrainer_feature_drifted" for name, _ in samples)
    buckets = [k for k in samples if k[0] == "mltrainer_http_request_duration_seconds_bucket"]
    assert buckets


def test_a_running_server_is_scraped(served: str) -> None:
    text = httpx.get(f"{served}/metrics", timeout=10).text
    families = {f.name for f in text_string_to_metric_families(text)}
    assert {"mltrainer_http_requests", "mltrainer_store_up", "mltrainer_monitor_metric"} <= families
