"""The audit trail: critical rule, append-only records on SQLite and real Redis, reproducible."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mltrainer import predict_bars
from mltrainer.config import CriticalConfig, ExplainConfig, LimeConfig
from mltrainer.exceptions import ConfigError, NotFoundError
from mltrainer.explain import (
    Explainer,
    audit_predictions,
    critical_decisions,
    explain_decision,
    get_decision,
    model_fingerprint,
    read_decisions,
    record_decisions,
    reexplain,
    signal,
)
from mltrainer.pipeline import load_bars_for, model_features
from mltrainer.registry import load_model
from mltrainer.store import Store


def _predictions(**columns: Any) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=len(next(iter(columns.values()))), tz="UTC")
    return pd.DataFrame(columns, index=index)


def test_critical_conditions_and_their_reasons() -> None:
    p1 = np.array([0.5, 0.8, 0.1, 0.55, 0.6, 0.95])
    frame = _predictions(
        symbol=["A", "B", "A", "B", "A", "B"], prediction=(p1 > 0.5).astype(float),
        proba_0=1 - p1, proba_1=p1,
    )  # fmt: skip
    assert np.allclose(signal(frame, [0.0, 1.0]), 2 * p1 - 1)
    rule = CriticalConfig(probability_above=0.9, every_n=2, symbols=["B"])
    mask, reasons = critical_decisions(frame, rule, classes=[0.0, 1.0])
    # p >= 0.9: rows 2 (p0 = 0.9) and 5; every 2nd of each symbol: A 0, 4 and B 1, 5;
    # symbol B: 1, 3, 5
    assert mask.tolist() == [True, True, True, True, True, True]
    assert reasons[5] == ["probability 0.95 >= 0.9", "one of every 2 decisions", "symbol B"]
    assert reasons[4] == ["one of every 2 decisions"]
    assert reasons[3] == ["symbol B"]
    mask, reasons = critical_decisions(frame, {"signal_above": 0.7}, classes=[0.0, 1.0])
    assert mask.tolist() == [False, False, True, False, False, True]  # |2p - 1| >= 0.7
    mask, _ = critical_decisions(
        frame, {"top_quantile": 0.1}, classes=[0.0, 1.0], signal_threshold=0.85
    )
    assert mask.tolist() == [False, False, False, False, False, True]
    with pytest.raises(ConfigError, match=r"top_quantile needs the training signals.*retrain"):
        critical_decisions(frame, {"top_quantile": 0.1}, classes=[0.0, 1.0])
    three = _predictions(prediction=[1.0, -1.0], proba_m1=[0.1, 0.7], **{"proba_-1": [0.1, 0.7]},
                         proba_0=[0.2, 0.2], proba_1=[0.7, 0.1])  # fmt: skip
    assert np.allclose(signal(three, [-1.0, 0.0, 1.0]), [0.6, -0.6])  # the mean label
    regression = _predictions(prediction=[0.01, -0.03])
    with pytest.raises(ConfigError, match="probability_above needs a classifier"):
        critical_decisions(regression, {"probability_above": 0.7}, classes=None)
    assert critical_decisions(regression, {"signal_above": 0.02}, classes=None)[0].tolist() == [
        False, True,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def decided(trained: Any) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    root, _ = trained
    model = load_model("spx-dir", root=root / "models")
    bars = load_bars_for(model.metadata, "sp500", start="2018-01-01")
    X, _ = model_features(model, bars)
    return model, bars, X


def test_predict_writes_one_record_per_critical_decision(
    decided: tuple[Any, pd.DataFrame, pd.DataFrame], store: Store
) -> None:
    model, bars, X = decided
    predictions = predict_bars(model, bars, store=store)  # the stored rule: p >= 0.6
    critical = predictions[["proba_0", "proba_1"]].max(axis=1) >= 0.6
    assert critical.any()
    assert not critical.all()
    assert predictions["decision_id"].notna().tolist() == critical.tolist()
    records = read_decisions(store, "spx-dir")
    assert [r.decision_id for r in records] == predictions["decision_id"].dropna().tolist()
    record = records[0]
    sha, files = model_fingerprint(model)
    row = predictions.loc[critical].iloc[0]
    assert (record.model, record.version, record.artifact_sha256) == ("spx-dir", 1, sha)
    assert record.model_files == files
    assert list(files) == ["model.json"]
    assert pd.Timestamp(record.decision_time) == predictions.index[critical.to_numpy()][0]
    assert record.features == pytest.approx(X.loc[critical.to_numpy()].iloc[0].to_dict())
    assert record.prediction == row["prediction"]
    assert record.probabilities == pytest.approx({"0": row["proba_0"], "1": row["proba_1"]})
    assert (record.method, record.space, record.output) == ("tree", "margin", "1")
    assert len(record.contributions) == 5
    assert record.n_features == len(model.feature_names)
    total = record.base_value + sum(
        v for _, v in Explainer(model).explain(X.loc[critical.to_numpy()].iloc[:1]).top(0, k=None)
    )
    assert abs(total - record.output_value) < 1e-5
    assert abs(record.residual) < 1e-5
    assert record.reasons[0].startswith("probability ")
    assert {"mltrainer", "xgboost", "shap", "lime", "numpy"} <= set(record.versions)
    assert get_decision(store, "spx-dir", record.decision_id) == record


def test_a_stored_decision_is_reproduced_exactly_from_its_version_and_inputs(
    decided: tuple[Any, pd.DataFrame, pd.DataFrame], store: Store
) -> None:
    model, bars, _ = decided
    predict_bars(model, bars.loc[bars.index >= "2018-06-01"], store=store,
                 critical={"probability_above": 0.6, "all_contributions": True})  # fmt: skip
    records = read_decisions(store, "spx-dir")
    assert records
    for record in records[:20]:
        again = reexplain(model, record)
        k = again.outputs.index(record.output)
        assert again.base[0, k] == record.base_value  # identical, not close
        assert again.output[0, k] == record.output_value
        assert [[n, v] for n, v in again.top(0, k=None, output=k)] == record.contributions


def test_records_are_appended_never_rewritten_and_read_by_time_and_id(
    decided: tuple[Any, pd.DataFrame, pd.DataFrame], store: Store
) -> None:
    model, bars, _ = decided
    rule = {"every_n": 40}
    first = predict_bars(model, bars, store=store, critical=rule)["decision_id"].dropna()
    second = predict_bars(model, bars, store=store, critical=rule)["decision_id"].dropna()
    assert len(first) == len(second) > 3
    assert not set(first) & set(second)
    records = read_decisions(store, "spx-dir")
    assert [r.decision_id for r in records] == [*first, *second]
    assert get_decision(store, "spx-dir", first.iloc[0]).decision_id == first.iloc[0]
    middle = pd.Timestamp(records[2].decision_time)
    window = read_decisions(store, "spx-dir", since=middle, until=middle)
    assert {r.decision_time for r in window} == {records[2].decision_time}
    assert len(window) == 2  # the same decision, recorded by both runs
    assert [r.decision_id for r in read_decisions(store, "spx-dir", limit=2)] == list(second[-2:])
    assert read_decisions(store, "spx-dir", since="2030-01-01") == []
    with pytest.raises(NotFoundError, match=r"no decision '1-0'.*mltrainer decisions"):
        get_decision(store, "spx-dir", "1-0")
    recorded = pd.Timestamp(records[0].recorded_at)
    assert abs(recorded - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(minutes=5)


def test_retention_keeps_the_newest_records(
    decided: tuple[Any, pd.DataFrame, pd.DataFrame], store: Store
) -> None:
    model, bars, X = decided
    settings = ExplainConfig(critical=CriticalConfig(every_n=25), retention={"max_records": 4})
    predictions = predict_bars(model, bars, record=False)
    ids = audit_predictions(model, X, predictions, store=store, settings=settings)
    assert ids is not None
    assert ids.notna().sum() > 4
    kept = read_decisions(store, "spx-dir")
    assert [r.decision_id for r in kept] == ids.dropna().tolist()[-4:]
    time.sleep(0.01)
    aged = ExplainConfig(critical=CriticalConfig(every_n=25), retention={"max_age": "1ms"})
    record_decisions(store, "spx-dir", [], retention=aged.retention)  # retention only
    assert read_decisions(store, "spx-dir") == []


def test_no_rule_means_no_records_and_lime_is_stored_when_asked(
    decided: tuple[Any, pd.DataFrame, pd.DataFrame], store: Store
) -> None:
    model, bars, X = decided
    predictions = predict_bars(model, bars, record=False)
    assert "decision_id" not in predictions.columns
    settings = ExplainConfig(lime=LimeConfig(num_samples=200, repeats=3, top_k=3))
    assert audit_predictions(model, X, predictions, store=store, settings=settings) is None
    rule = CriticalConfig(every_n=200, lime=True)
    ids = audit_predictions(model, X, predictions, rule=rule, store=store, settings=settings)
    assert ids is not None
    (record, *_) = read_decisions(store, "spx-dir")
    assert record.lime is not None
    assert record.lime["repeats"] == 3
    assert 0 <= record.lime["stability"] <= 1
    assert len(record.lime["top"]) == 3
    assert record.lime["agreement"] is not None
    assert len(record.lime["shap_top"]) == 3


def test_one_decision_explained_and_written_on_its_own(
    decided: tuple[Any, pd.DataFrame, pd.DataFrame], store: Store
) -> None:
    model, _, X = decided
    explainer = Explainer(model, fast=True)  # microsecond trees for per-decision use
    record = explain_decision(model, X.iloc[[-1]], symbol="SPX", explainer=explainer,
                              store=store, top_contributions=None)  # fmt: skip
    assert record.decision_id is not None
    assert record.symbol == "SPX"
    assert len(record.contributions) == len(model.feature_names)
    stored = get_decision(store, "spx-dir", record.decision_id)
    assert stored.contributions == record.contributions
    assert abs(stored.residual) < 1e-9  # the fast path's margin is summed in float64
    with pytest.raises(ConfigError, match="a decision is one row"):
        explain_decision(model, X.iloc[-2:])
