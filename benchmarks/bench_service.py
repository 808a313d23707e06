"""Service load: predict requests/s and latency, metric-history reads of 100,000 points.

    python benchmarks/bench_service.py [--quick] [--rate 200] [--seconds 15]

Trains the default model (XGBoost, 300 trees, the bundled S&P 500 bars; ``--quick``: 50
trees on 2015-2018), starts ``mltrainer serve`` in a subprocess on a free port of
127.0.0.1, and drives it from this process with a bounded open-loop load generator:
requests are sent at a fixed ``--rate`` for ``--seconds`` (at most 64 in flight, so an
overloaded server shows as queueing, never as an unbounded pile of sockets). Latency is
measured from the moment each request was due, so queueing counts. Cases: one-row and
100-row predict, ``/health`` at the same rate (the HTTP stack's floor), a closed-loop run of
8 concurrent clients (the most requests/s), and metric-history reads of a series of
100,000 stored points (downsampled to 2,000 per response) beside the store's own
``range`` of the same points in-process (the floor). The generator shares the machine's
cores with the server, as a co-located client would. Prints a table and one quotable line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from mltrainer.config import config_from_dict
from mltrainer.data import load_bars
from mltrainer.features import compute_features
from mltrainer.pipeline import Trainer
from mltrainer.registry import ModelRegistry
from mltrainer.store import (
    Batch,
    MetricPoint,
    metric_point_key,
    metric_series,
    open_store,
    tracked_metrics_key,
)

TOKEN = "bench-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_IN_FLIGHT = 64


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _train(tmp: Path, quick: bool) -> tuple[str, Path]:
    store = f"sqlite:///{tmp / 'store.db'}"
    config = config_from_dict(
        {
            "name": "bench",
            "data": {"source": "sp500", **({"start": "2015-01-01"} if quick else {})},
            "model": {"type": "xgboost", "params": {"n_estimators": 50} if quick else {}},
            **({"cv": {"n_splits": 3}} if quick else {}),
            "registry": {"root": str(tmp / "models")},
            "store": {"url": store},
        }
    )
    Trainer(config).run()
    return store, tmp / "models"


def _fill_history(store_url: str, n: int) -> None:
    series = metric_series("bench", "roc_auc")
    rng = np.random.default_rng(0)
    values = 0.55 + 0.02 * np.cumsum(rng.normal(0, 0.05, n)) / np.sqrt(np.arange(1, n + 1))
    with open_store(store_url) as store:
        for lo in range(0, n, 20_000):  # batches of 20,000 points
            batch = Batch().add_to_set(tracked_metrics_key("bench"), ["roc_auc"])
            for i in range(lo, min(lo + 20_000, n)):
                when = 1.4e9 + 600.0 * i
                point = MetricPoint.measure(float(values[i]), version=1).to_dict()
                batch.append(series, point, timestamp=when, key=metric_point_key(1, when))
            store.write(batch)


def _serve(store: str, registry: Path, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "MLTRAINER_API_TOKEN": TOKEN, "MLTRAINER_LOG_LEVEL": "warning"}
    args = [
        sys.executable,
        "-m",
        "mltrainer.cli",
        "serve",
        "--port",
        str(port),
        "--store",
        store,
        "--registry",
        str(registry),
    ]
    proc = subprocess.Popen(args, env=env, cwd=tmp, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("mltrainer serve did not start")


async def _open_loop(
    client: httpx.AsyncClient, method: str, path: str, body: Any, rate: float, seconds: float
) -> dict[str, float]:
    n = int(rate * seconds)
    latencies = np.full(n, np.nan)
    errors = 0
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal errors
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        async with gate:
            response = await client.request(method, path, json=body, headers=AUTH)
        latencies[i] = time.perf_counter() - due
        errors += response.status_code != 200

    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    return _summary(latencies, n / elapsed, errors)


async def _closed_loop(
    client: httpx.AsyncClient, path: str, body: Any, workers: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            t = time.perf_counter()
            response = await client.post(path, json=body, headers=AUTH)
            latencies.append(time.perf_counter() - t)
            errors += response.status_code != 200

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return _summary(np.asarray(latencies), len(latencies) / (time.perf_counter() - start), errors)


def _summary(latencies: np.ndarray, rate: float, errors: int) -> dict[str, float]:
    ms = latencies[np.isfinite(latencies)] * 1e3
    return {
        "rate": rate,
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "n": float(len(ms)),
        "errors": float(errors),
    }


async def _load(
    url: str, rows: list[dict[str, float]], rate: float, seconds: float
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        one = {"rows": rows[:1]}
        hundred = {"rows": rows[:100]}
        for _ in range(20):  # warm the model cache and the connections
            await client.post("/api/models/bench/predict", json=one, headers=AUTH)
        out = {
            "health": await _open_loop(client, "GET", "/health", None, rate, seconds),
            "one": await _open_loop(
                client, "POST", "/api/models/bench/predict", one, rate, seconds
            ),
            "hundred": await _open_loop(
                client, "POST", "/api/models/bench/predict", hundred, rate / 4, seconds
            ),
            "closed": await _closed_loop(client, "/api/models/bench/predict", one, 8, seconds),
        }
        reads = []
        for _ in range(20):
            t = time.perf_counter()
            response = await client.get("/api/models/bench/metrics/roc_auc")
            reads.append(time.perf_counter() - t)
            assert response.status_code == 200
            assert len(response.json()["time"]) <= 2000
        out["history"] = _summary(np.asarray(reads), len(reads) / sum(reads), 0)
    return out


def _floors(store: str, registry: Path, X: Any) -> dict[str, float]:
    model = ModelRegistry(registry).load("bench")
    for member in model.members.values():  # as the service predicts: one thread per request
        if hasattr(member, "set_params"):
            member.set_params(n_jobs=1)
    row = X.iloc[:1]
    times = []
    for _ in range(300):
        t = time.perf_counter()
        model.predict(row)
        model.predict_proba(row)
        times.append(time.perf_counter() - t)
    reads = []
    with open_store(store) as s:
        for _ in range(5):
            t = time.perf_counter()
            s.range(metric_series("bench", "roc_auc"))
            reads.append(time.perf_counter() - t)
    return {
        "predict_p50": float(np.percentile(times, 50) * 1e3),
        "predict_p99": float(np.percentile(times, 99) * 1e3),
        "range_p50": float(np.median(reads) * 1e3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small model, 3 s per case")
    parser.add_argument("--rate", type=float, default=200.0, help="one-row requests per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per case")
    parser.add_argument("--points", type=int, default=100_000, help="metric points stored")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else args.seconds
    points = 10_000 if args.quick else args.points
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        store, registry = _train(tmp, args.quick)
        _fill_history(store, points)
        model = ModelRegistry(registry).load("bench")
        bars = load_bars("sp500", start="2017-01-01")
        X = compute_features(bars, model.metadata["features"]["spec"])[model.feature_names].dropna()
        rows = X.iloc[:100].to_dict(orient="records")
        floors = _floors(store, registry, X)
        proc, url = _serve(store, registry, tmp)
        try:
            results = asyncio.run(_load(url, rows, args.rate, seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    trees = model.metadata["params"].get("n_estimators")
    print(
        f"model: xgboost {trees} trees, {len(model.feature_names)} features; "
        f"{os.cpu_count()} cores shared by server and load generator"
    )
    print(f"{'case':<44}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    labels = {
        "health": f"GET /health, open loop {args.rate:g}/s (floor)",
        "one": f"predict 1 row, open loop {args.rate:g}/s",
        "hundred": f"predict 100 rows, open loop {args.rate / 4:g}/s",
        "closed": "predict 1 row, 8 clients back to back",
        "history": f"history of {points:,} points (<=2,000 back)",
    }
    for key, label in labels.items():
        r = results[key]
        print(f"{label:<44}{r['rate']:>9.1f}{r['p50']:>9.2f}{r['p99']:>9.2f}{int(r['errors']):>8}")
    print(
        f"floor: in-process predict + predict_proba of 1 row p50 {floors['predict_p50']:.2f} ms,"
        f" p99 {floors['predict_p99']:.2f} ms; store.range of {points:,} points "
        f"{floors['range_p50']:.0f} ms"
    )
    one, closed, history = results["one"], results["closed"], results["history"]
    goal = "meets" if one["p99"] < 10 and one["rate"] >= 0.95 * args.rate else "misses"
    print(
        f"service 1-row predict at {one['rate']:.0f} req/s: p50 {one['p50']:.1f} ms, p99 "
        f"{one['p99']:.1f} ms ({goal} the 10 ms goal) | max {closed['rate']:.0f} req/s | "
        f"{points:,}-point history read p50 {history['p50']:.0f} ms | floor "
        f"{floors['predict_p50']:.2f} ms in-process"
    )


if __name__ == "__main__":
    main()
