"""The matured-label join: no update ever uses a label whose t1 is after the current bar.

Bars are fed one by one (with bad and duplicate bars mixed in) for random label specs,
horizons and update schedules. An auditing updater records every row it is asked to learn
and the bar being processed at that moment. Every learnt row's t1 must be at or before
that bar; its label, t1 and feature row must equal the batch label and features of its
decision time t0 on the clean bars; and every prediction is learnt exactly once, as soon
as (every bar) or after (batches) its label is known.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.features import compute_features
from mltrainer.labels import make_labels
from mltrainer.models import make_model
from mltrainer.online import NoUpdate, RingBuffer, StreamProcessor

from .conftest import SPEC, regime_bars


class AuditUpdater(NoUpdate):
    """Learns nothing; records what it is given and when."""

    def __init__(self) -> None:
        super().__init__()
        self.processor: Any = None
        self.seen: list[dict[str, Any]] = []

    def learn(
        self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, *, buffer: RingBuffer
    ) -> None:
        rows = buffer.snapshot(last=len(X))
        np.testing.assert_array_equal(rows["X"], X)  # what is learnt is what was buffered
        self.seen.append(
            {"now": self.processor.now.value, "t0": rows["t0"], "t1": rows["t1"], "X": X, "y": y}
        )


LABELS = st.one_of(
    st.builds(lambda h: {"name": "direction", "horizon": h}, st.integers(1, 6)),
    st.builds(lambda h: {"name": "forward_return", "horizon": h}, st.integers(1, 6)),
    st.builds(
        lambda h, v, u: {
            "name": "triple_barrier",
            "horizon": h,
            "vol_window": v,
            "upper": u,
            "lower": u,
        },
        st.integers(1, 6),
        st.integers(2, 8),
        st.sampled_from([0.5, 1.0, 2.0]),
    ),
)


def _model(bars: pd.DataFrame, label: dict[str, Any]) -> tuple[Any, str, list[float] | None]:
    X = compute_features(bars, SPEC)
    labels = make_labels(bars, label)
    ok = X.notna().all(axis=1).to_numpy() & labels.valid
    if labels.kind == "regression":
        model = make_model("sgd", "regression", random_state=0).fit(
            X[ok].to_numpy(), labels.y[ok].to_numpy()
        )
        return model, "regression", None
    classes = sorted(float(c) for c in np.unique(labels.y[ok]))  # as the Trainer encodes
    codes = np.searchsorted(classes, labels.y[ok].to_numpy()).astype(int)
    model = make_model("sgd", "classification", random_state=0).fit(X[ok].to_numpy(), codes)
    return model, "classification", classes


@settings(max_examples=16, deadline=None, derandomize=True, database=None)
@given(label=LABELS, batch=st.sampled_from([1, 3, 16]), seed=st.integers(0, 1000))
def test_no_update_uses_a_label_before_its_t1(label: dict[str, Any], batch: int, seed: int) -> None:
    clean = regime_bars(150, 60, seed=seed)
    model, _, classes = _model(clean.iloc[:100], label)
    if classes is not None and len(classes) < 2:
        return
    auditor = AuditUpdater()
    processor = StreamProcessor(
        model, SPEC, label, updater=auditor, update=batch, classes=classes, detector=False
    )
    auditor.processor = processor
    rng = np.random.default_rng(seed)
    statuses = []
    for i, (stamp, row) in enumerate(clean.iterrows()):
        bar = {"timestamp": stamp, **row.to_dict()}
        statuses.append(processor.process(bar).status)
        if rng.random() < 0.05:  # a duplicate, a bar from the past, a broken bar
            statuses.append(processor.process(bar).status)
            past = {**bar, "timestamp": stamp - pd.Timedelta(hours=1)}
            statuses.append(processor.process(past).status)
            broken = {**bar, "timestamp": stamp + pd.Timedelta(hours=1), "close": float("nan")}
            statuses.append(processor.process(broken).status)
        if i == 0:
            assert processor.counters.learned == 0

    batch_X = compute_features(clean, SPEC).to_numpy()
    labels = make_labels(clean, label)
    position = {int(v): i for i, v in enumerate(clean.index.as_unit("ns").asi8)}
    learnt_t0: list[int] = []
    for record in auditor.seen:
        assert (record["t1"] <= record["now"]).all(), "learnt a label before its end time"
        for t0, t1, x, y in zip(record["t0"], record["t1"], record["X"], record["y"], strict=True):
            i = position[int(t0)]
            assert labels.t1.iloc[i].as_unit("ns").value == t1
            expected = labels.y.iloc[i] if classes is None else classes.index(labels.y.iloc[i])
            assert y == pytest.approx(expected, rel=1e-12, abs=1e-15)
            np.testing.assert_allclose(x, batch_X[i], rtol=1e-10)
            learnt_t0.append(int(t0))
        if batch == 1:  # learnt on the bar its label became known
            assert record["now"] == record["t1"][-1] or label["name"] == "triple_barrier"
    assert len(learnt_t0) == len(set(learnt_t0))  # each prediction learnt once
    assert (
        processor.counters.rejected == statuses.count("rejected") > 0 or "rejected" not in statuses
    )
    assert processor.counters.invalid == statuses.count("invalid")
    # every prediction whose horizon has passed was matured; what is left waits in the queue
    predicted = processor.counters.predicted
    assert (
        processor.counters.matured + processor.counters.unlabelled + len(processor.pending)
        == predicted
    )
    assert len(processor.pending) <= label["horizon"]
    assert processor.counters.learned + len(processor._to_learn) == processor.counters.matured
