"""M4 downsampling: never more than asked, keeps every bucket's extremes and the ends."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.service import ServiceSettings, create_app, m4_indices
from mltrainer.store import Batch, MetricPoint, metric_point_key, metric_series, tracked_metrics_key

from .conftest import Filled


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), max_points=st.integers(1, 500), seed=st.integers(0, 10))
def test_m4_bounds_and_extremes(n: int, max_points: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0, 1e6, n))
    values = rng.normal(size=n)
    values[rng.random(n) < 0.1] = np.nan
    kept = m4_indices(times, values, max_points)
    assert len(kept) <= max(max_points, 0)
    assert np.all(np.diff(kept) > 0)
    if n <= max_points:
        assert kept.tolist() == list(range(n))
    elif max_points >= 4:
        assert kept[0] == 0
        assert kept[-1] == n - 1
        finite = np.isfinite(values)
        if finite.any():
            assert np.nanargmax(values) in kept
            assert np.nanargmin(values) in kept


def test_history_of_many_points_is_capped(filled: Filled, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    app = create_app(url, filled.registry, ServiceSettings(max_points=500))
    store = app.state.service.store
    n = 20_000
    values = np.sin(np.arange(n) / 300.0)
    values[12_345] = 5.0  # a spike the chart must keep
    batch = Batch().add_to_set(tracked_metrics_key("spy"), ["roc_auc"])
    for i in range(n):
        when = 1.5e9 + 3600.0 * i
        batch.append(
            metric_series("spy", "roc_auc"),
            MetricPoint.measure(values[i], version=2).to_dict(),
            timestamp=when,
            key=metric_point_key(2, when),
        )
    store.write(batch)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        body = client.get("/api/models/spy/metrics/roc_auc").json()
        assert body["n_total"] == n
        assert body["downsampled"]
        assert len(body["time"]) <= 500
        assert max(body["value"]) == 5.0
        assert min(body["value"]) == pytest.approx(values.min())
        small = client.get("/api/models/spy/metrics/roc_auc", params={"max_points": 40}).json()
        assert len(small["time"]) <= 40
        assert (
            client.get("/api/models/spy/metrics/roc_auc", params={"max_points": 501}).status_code
            == 422
        )
