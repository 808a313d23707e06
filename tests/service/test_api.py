"""The JSON API over a store and registry filled by train, monitor, tune, promote, predict."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mltrainer.data import load_bars
from mltrainer.exceptions import SchemaError
from mltrainer.monitor import history
from mltrainer.pipeline import predict_bars
from mltrainer.registry import ModelRegistry
from mltrainer.service import ServiceSettings, create_app
from mltrainer.store import open_store, stream_checkpoint_key, stream_status_key

from .conftest import MONITOR_TIMES, TOKEN, Filled

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(filled: Filled) -> Iterator[TestClient]:
    app = create_app(filled.store_url, filled.registry, ServiceSettings(token=TOKEN))
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_models_list_versions_aliases_and_headline(client: TestClient, filled: Filled) -> None:
    models = client.get("/api/models").json()["models"]
    (spy,) = models
    metadata = ModelRegistry(filled.registry).metadata("spy", 2)
    assert spy["n_versions"] == 2
    assert spy["latest_version"] == 2
    assert spy["aliases"] == {"production": 1}
    assert spy["headline"] == {"scorer": "roc_auc", "value": metadata["scores"]["mean"]["roc_auc"]}
    assert spy["last_alert"]["rule"] == "auc-low"


def test_version_detail_by_alias_with_lineage(client: TestClient) -> None:
    detail = client.get("/api/models/spy/versions/production").json()
    assert detail["version"] == 1
    assert detail["aliases"] == ["production"]
    assert detail["lineage"] == []
    assert detail["metadata"]["model_type"] == "xgboost"
    listed = client.get("/api/models/spy/versions").json()
    assert [v["version"] for v in listed["versions"]] == [1, 2]


def test_fold_scores_and_training_history(client: TestClient) -> None:
    scores = client.get("/api/models/spy/scores", params={"version": "1"}).json()
    assert scores["version"] == 1
    assert len(scores["folds"]) == 3
    assert scores["mean"]["roc_auc"] == pytest.approx(
        np.mean([f["roc_auc"] for f in scores["folds"]])
    )
    assert [run["version"] for run in scores["history"]] == [1, 2]


def test_metric_history_equals_the_stored_history(client: TestClient, filled: Filled) -> None:
    body = client.get("/api/models/spy/metrics/roc_auc").json()
    with open_store(filled.store_url) as store:
        stored = history(store, "spy", "roc_auc")
    assert body["n_total"] == len(stored) == len(MONITOR_TIMES)
    assert not body["downsampled"]
    assert [pd.Timestamp(t) for t in body["time"]] == list(stored.index)
    assert body["value"] == pytest.approx(stored.to_numpy().tolist())
    assert body["thresholds"] == [{"rule": "auc-low", "op": "below", "threshold": 0.6}]
    window = client.get(
        "/api/models/spy/metrics/roc_auc",
        params={"start": "2017-05-01T00:00:00Z", "end": "2017-10-01T00:00:00Z"},
    ).json()
    assert [t[:10] for t in window["time"]] == ["2017-06-01", "2017-09-01"]
    assert (
        client.get("/api/models/spy/metrics/roc_auc", params={"version": 1}).json()["n_total"] == 0
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_points": 0}, "greater than or equal to 1"),
        ({"max_points": 2001}, "less than or equal to 2000"),
        ({"start": "2018-01-01", "end": "2017-01-01"}, "is after end"),
        ({"start": "yesterday"}, "query.start"),
    ],
)
def test_metric_query_limits_are_validated(client: TestClient, params: dict, message: str) -> None:
    response = client.get("/api/models/spy/metrics/roc_auc", params=params)
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]


def test_unknown_metric_is_404_with_suggestion(client: TestClient) -> None:
    response = client.get("/api/models/spy/metrics/roc_au")
    assert response.status_code == 404
    assert "did you mean 'roc_auc'" in response.json()["error"]["message"]


def test_drift_report_and_windows(client: TestClient) -> None:
    report = client.get("/api/models/spy/drift").json()
    assert report["version"] == 2
    assert report["timestamp"].startswith(MONITOR_TIMES[-1])
    columns = report["feature_drift"]["columns"]
    assert set(report["feature_drift"]["drifted"]) <= set(columns)
    assert report["metrics"]["drift.n_drifted"] == len(report["feature_drift"]["drifted"])
    windows = client.get("/api/models/spy/drift/history", params={"limit": 10}).json()["windows"]
    assert [w["time"][:10] for w in windows] == list(MONITOR_TIMES)
    last = windows[-1]["features"]
    assert {f for f, row in last.items() if row["drifted"]} == set(
        report["feature_drift"]["drifted"]
    )
    assert (
        len(client.get("/api/models/spy/drift/history", params={"limit": 2}).json()["windows"]) == 2
    )


def test_alerts_newest_first_and_limited(client: TestClient) -> None:
    alerts = client.get("/api/models/spy/alerts").json()["alerts"]
    assert alerts
    assert all(a["rule"] == "auc-low" and a["value"] < 0.6 for a in alerts)
    assert [a["timestamp"] for a in alerts] == sorted(
        (a["timestamp"] for a in alerts), reverse=True
    )
    assert len(client.get("/api/models/spy/alerts", params={"limit": 1}).json()["alerts"]) == 1
    assert client.get("/api/models/spy/alerts", params={"limit": 1001}).status_code == 422


def test_tuning_study_trials_and_verdict(client: TestClient) -> None:
    (study,) = client.get("/api/models/spy/tuning").json()["studies"]
    assert study["model_type"] == "xgboost"
    assert study["last"]["n_trials"] == 4
    assert isinstance(study["last"]["promoted"], bool)
    detail = client.get("/api/models/spy/tuning/xgboost").json()
    assert detail["trials"]["n_trials"] == 4
    assert len(detail["trials"]["trials"]) == 4
    assert len(detail["history"]) == 1
    assert detail["trials_problem"] is None
    assert client.get("/api/models/spy/tuning/lightgbm").status_code == 404
    assert (
        client.get("/api/models/spy/tuning/xgboos")
        .json()["error"]["message"]
        .startswith("model type 'xgboos' is not in the catalogue (did you mean 'xgboost'?)")
    )


def test_stream_state_without_the_checkpoint_blob(filled: Filled, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    app = create_app(url, filled.registry, ServiceSettings())
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/models/spy/stream").status_code == 404
        store = app.state.service.store
        store.put(stream_status_key("spy"), {"state": "running", "version": 2, "bars": 10})
        store.put(
            stream_checkpoint_key("spy"), {"offset": "1-0", "state": "QUJD" * 1000, "sha256": "ab"}
        )
        body = client.get("/api/models/spy/stream").json()
    assert body["status"]["state"] == "running"
    assert body["checkpoint"] == {"offset": "1-0", "sha256": "ab"}


def test_decisions(client: TestClient) -> None:
    body = client.get("/api/models/spy/decisions").json()
    assert body["recorded"] is True
    first = body["decisions"][0]
    one = client.get(f"/api/models/spy/decisions/{first['decision_id']}").json()
    assert one["contributions"]
    assert one["model"] == "spy"


@pytest.mark.parametrize(
    "path",
    [
        "/api/models/..%2F..%2Fetc",
        "/api/models/%2e%2e/versions",
        "/api/models/spy%2F..%2Fspy",
        "/api/models/.hidden",
        "/api/models/spy/versions/..%2F..%2F1",
        "/api/models/spy/versions/%2e%2e",
        "/api/models/spy/versions/9",
        "/api/models/spy/versions/staging",
        "/api/models/nope/metrics/roc_auc",
        "/api/models/spy/decisions/..%2F..%2Fx",
        "/models/..%2F..%2Fetc",
        "/static/..%2F_app.py",
    ],
)
def test_names_are_checked_against_the_registry(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (404, 422), response.text
    if path.startswith("/api"):
        assert response.json()["error"]["message"]


def test_errors_are_json_with_a_message(client: TestClient) -> None:
    missing = client.get("/api/models/nope")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "type": "NotFoundError",
            "message": "no model named 'nope' in the registry; models: spy",
        }
    }
    assert client.delete("/api/models/spy").json()["error"]["type"] == "MethodNotAllowed"
    assert client.get("/api/nothing").json()["error"]["type"] == "NotFound"


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["models"] == 1
    assert body["decisions"] is True


# -- predictions ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def features(filled: Filled) -> pd.DataFrame:
    model = ModelRegistry(filled.registry).load("spy")
    from mltrainer.features import compute_features

    bars = load_bars("sp500", start="2018-01-01")
    X = compute_features(bars, model.metadata["features"]["spec"])[model.feature_names]
    return X.dropna().iloc[:5]


def test_predict_rows_equals_the_python_api(
    client: TestClient, filled: Filled, features: pd.DataFrame
) -> None:
    model = ModelRegistry(filled.registry).load("spy", "production")
    rows = [dict(reversed(list(row.items()))) for row in features.to_dict(orient="records")]
    before = _tree(filled.registry)
    body = client.post(
        "/api/models/spy/predict", json={"rows": rows, "version": "production"}, headers=AUTH
    ).json()
    assert body["version"] == 1
    assert body["classes"] == [0.0, 1.0]
    assert body["n_rows"] == 5
    assert body["predictions"] == model.predict(features).astype(float).tolist()
    assert np.allclose(body["probabilities"], model.predict_proba(features))
    assert _tree(filled.registry) == before  # predicting never writes to the registry
    matrix = client.post(
        "/api/models/spy/predict",
        json={
            "columns": list(features.columns),
            "data": features.to_numpy().tolist(),
            "version": 1,
        },
        headers=AUTH,
    ).json()
    assert matrix["predictions"] == body["predictions"]


def test_predict_schema_errors_are_the_python_apis(
    client: TestClient, filled: Filled, features: pd.DataFrame
) -> None:
    model = ModelRegistry(filled.registry).load("spy")
    for frame in (features.iloc[:, ::-1], features.drop(columns=features.columns[0])):
        with pytest.raises(SchemaError) as python:
            model.predict(frame)
        response = client.post(
            "/api/models/spy/predict",
            json={"columns": list(frame.columns), "data": frame.to_numpy().tolist()},
            headers=AUTH,
        )
        assert response.status_code == 422
        assert response.json()["error"] == {"type": "SchemaError", "message": str(python.value)}
    ragged = [{"a": 1.0}, {"b": 2.0}]
    assert (
        "row 1 has other features"
        in client.post("/api/models/spy/predict", json={"rows": ragged}, headers=AUTH).json()[
            "error"
        ]["message"]
    )


def test_predict_bars_equals_predict_bars(client: TestClient, filled: Filled) -> None:
    model = ModelRegistry(filled.registry).load("spy")
    bars = load_bars("sp500", start="2018-06-01")
    expected = predict_bars(model, bars)
    payload = [
        {"timestamp": t.isoformat(), **{c: float(row[c]) for c in bars.columns}}
        for t, row in bars.iterrows()
    ]
    body = client.post("/api/models/spy/predict", json={"bars": payload}, headers=AUTH).json()
    assert body["index"] == [t.isoformat() for t in expected.index]
    assert body["predictions"] == expected["prediction"].tolist()
    assert np.allclose(body["probabilities"], expected[["proba_0", "proba_1"]].to_numpy())
    few = client.post("/api/models/spy/predict", json={"bars": payload[:5]}, headers=AUTH)
    assert few.status_code == 422
    assert "warm-up" in few.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "send exactly one of rows, columns + data, or bars"),
        ({"rows": [{"a": 1.0}], "bars": []}, "got rows and bars"),
        ({"columns": ["a"]}, "columns and data go together"),
        ({"rows": []}, "no rows to predict"),
        ({"rows": [{"a": "x"}]}, "rows.0.a"),
        ({"rows": [{"a": 1.0}], "extra": 1}, "extra"),
    ],
)
def test_predict_bad_bodies(client: TestClient, body: dict, message: str) -> None:
    response = client.post("/api/models/spy/predict", json=body, headers=AUTH)
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]


def test_predict_needs_the_token(
    client: TestClient, filled: Filled, features: pd.DataFrame
) -> None:
    rows = features.to_dict(orient="records")
    assert client.post("/api/models/spy/predict", json={"rows": rows}).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 30}
    assert (
        client.post("/api/models/spy/predict", json={"rows": rows}, headers=wrong).status_code
        == 401
    )
    open_app = create_app(filled.store_url, filled.registry, ServiceSettings())
    with TestClient(open_app, base_url="http://127.0.0.1") as no_token:
        refused = no_token.post("/api/models/spy/predict", json={"rows": rows}, headers=AUTH)
    assert refused.status_code == 403
    assert "MLTRAINER_API_TOKEN" in refused.json()["error"]["message"]


def test_predict_bounds_bodies_and_rows(filled: Filled, features: pd.DataFrame) -> None:
    settings = ServiceSettings(token=TOKEN, max_rows=3, max_body_bytes=20_000)
    app = create_app(filled.store_url, filled.registry, settings)
    rows = features.to_dict(orient="records")
    with TestClient(app, base_url="http://127.0.0.1") as client:
        many = client.post("/api/models/spy/predict", json={"rows": rows[:4]}, headers=AUTH)
        assert many.status_code == 422
        assert "limit of 3" in many.json()["error"]["message"]
        big = client.post("/api/models/spy/predict", json={"rows": rows * 40}, headers=AUTH)
        assert big.status_code == 413
        assert "limit of 20000 bytes" in big.json()["error"]["message"]
        assert (
            client.post(
                "/api/models/spy/predict", json={"rows": rows[:3]}, headers=AUTH
            ).status_code
            == 200
        )
