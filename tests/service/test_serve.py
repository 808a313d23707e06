"""`mltrainer serve` as a person runs it, over SQLite and over a real Redis."""

from __future__ import annotations

import uuid

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from mltrainer.monitor import track
from mltrainer.service import ServiceSettings, create_app
from mltrainer.store import Alert, Store, TrainScores, alerts_key, open_store, train_latest_key

from .conftest import TOKEN, Filled, start_serve, stop


def test_serve_answers_pages_api_and_metrics(served: str) -> None:
    assert httpx.get(f"{served}/health", timeout=10).json()["status"] == "ok"
    page = httpx.get(f"{served}/models/spy", timeout=10)
    assert page.status_code == 200
    assert "Feature drift" not in page.text
    assert 'data-figure="/ui/models/spy/figures/drift"' in page.text
    assert httpx.get(f"{served}/api/models", timeout=10).json()["models"][0]["name"] == "spy"
    assert httpx.get(f"{served}/openapi.json", timeout=10).json()["info"]["title"] == "mltrainer"


def test_serve_over_redis(filled: Filled, redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    with open_store(redis_url, prefix=prefix) as store:
        _seed(store)
    proc, url = start_serve(filled, "--store", redis_url, "--prefix", prefix)
    try:
        body = httpx.get(f"{url}/api/models/spy", timeout=10).json()
        assert body["latest_train"]["version"] == 7
        assert body["metrics"] == ["roc_auc"]
        assert (
            httpx.get(f"{url}/api/models/spy/alerts", timeout=10).json()["alerts"][0]["rule"] == "r"
        )
        assert httpx.get(f"{url}/health", timeout=10).json()["store"].startswith("redis://")
    finally:
        stop(proc)
        with redis.Redis.from_url(redis_url) as client:
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)


def _seed(store: Store) -> None:
    store.put(
        train_latest_key("spy"),
        TrainScores(version=7, scores={"roc_auc": 0.55}, cv="purged_kfold", path="x").to_dict(),
    )
    track(store, "spy", {"roc_auc": 0.5}, timestamp=1.7e9, version=7)
    track(store, "spy", {"roc_auc": 0.6}, timestamp=1.7e9 + 60, version=7)
    alert = Alert(
        model="spy",
        rule="r",
        metric="roc_auc",
        op="below",
        threshold=0.7,
        value=0.6,
        window=1,
        timestamp="2023-11-14T22:14:20+00:00",
        version=7,
        action="none",
        message="m",
    )
    store.push(alerts_key("spy"), alert.to_dict(), max_len=10)


def test_the_same_reads_on_every_backend(filled: Filled, store_opener) -> None:  # type: ignore[no-untyped-def]
    """The service reads SQLite and Redis stores alike (records module keys only)."""
    _seed(store_opener())
    settings = ServiceSettings(token=TOKEN, store_prefix=store_opener.prefix)
    with TestClient(
        create_app(store_opener.url, filled.registry, settings), base_url="http://127.0.0.1"
    ) as client:
        history = client.get("/api/models/spy/metrics/roc_auc").json()
        assert history["value"] == [0.5, 0.6]
        assert history["version"] == [7, 7]
        assert client.get("/api/models/spy").json()["latest_train"]["scores"] == {"roc_auc": 0.55}
        assert len(client.get("/api/models/spy/alerts").json()["alerts"]) == 1


def test_unreachable_store_fails_at_start(filled: Filled) -> None:
    from mltrainer.exceptions import StoreError

    with pytest.raises(StoreError):
        create_app("redis://127.0.0.1:1/0", filled.registry)
