"""Done-when: no synthetic row is built from a test row, for every method (spy resampler).

A spy wraps each augmenter inside the real fold loop and records what it was handed and
what it returned. Asserted for every split: the rows handed over are training rows of
that split only (no test row, none purged or embargoed); every synthetic row's [t0, t1]
lies inside one contiguous training segment's hull, so it never reaches into a test
label span (the purging rule); and the synthetic rows are made of those inputs only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mltrainer.augment._gan as gan_module
from mltrainer.augment import (
    BlockBootstrapAugmenter,
    GanAugmenter,
    GanSettings,
    SmoteAugmenter,
    bootstrap_path_augmenter,
    training_segments,
)
from mltrainer.augment._gate import Check, GateResult
from mltrainer.cv import PurgedKFold, TrainingRows, cross_validate

from .conftest import FEATURES, LABEL


class Spy:
    """Records the rows each fold hands the inner resampler, and what it returns."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[int, TrainingRows, TrainingRows]] = []
        self.fold = -2

    def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
        self.fold = fold
        out = self.inner.resample(rows, fold=fold)
        self.calls.append((fold, rows, out))
        return out


def _ns(values: Any) -> np.ndarray:
    return pd.DatetimeIndex(values).as_unit("ns").asi8


def _augmenters(bars: pd.DataFrame, dataset: Any) -> dict[str, Any]:
    common = {
        "features": FEATURES,
        "label": LABEL,
        "columns": dataset.feature_names,
        "classes": dataset.classes,
        "random_state": 3,
    }
    out: dict[str, Any] = {
        m: SmoteAugmenter(m, k_neighbors=3, sampling_strategy=0.9, random_state=3)
        for m in ("smote", "borderline_smote", "adasyn", "random_over", "random_under")
    }
    out["block_bootstrap"] = BlockBootstrapAugmenter(kind="circular", block=10, random_state=3)
    out["block_bootstrap_stationary_auto"] = BlockBootstrapAugmenter(random_state=3)
    out["block_bootstrap_paths"] = bootstrap_path_augmenter(bars, block=10, **common)
    settings = GanSettings(window=16, epochs=1, batch_size=32, hidden=8, latent_dim=4)
    out["gan"] = GanAugmenter(bars, settings=settings, gate="lenient", **common)
    return out


def _passing_gate(*args: Any, **kwargs: Any) -> GateResult:
    real = gate_function(*args, **kwargs)
    checks = [Check(c.name, c.value, c.reference, c.rule, True) for c in real.checks]
    return GateResult(real.level, checks, real.real, real.synthetic, real.extra)


gate_function = gan_module.quality_gate

METHODS = [
    "smote",
    "borderline_smote",
    "adasyn",
    "random_over",
    "random_under",
    "block_bootstrap",
    "block_bootstrap_stationary_auto",
    "block_bootstrap_paths",
    "gan",
]


@pytest.mark.parametrize("method", METHODS)
def test_spy_sees_training_rows_only_and_synthetic_rows_stay_in_training_time(
    method: str, bars: pd.DataFrame, dataset: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y, t1 = dataset.X, dataset.y, dataset.t1
    augmenter = _augmenters(bars, dataset)[method]
    used_bars: list[tuple[int, pd.DatetimeIndex]] = []
    spy = Spy(augmenter)
    if method == "gan":  # a tiny GAN never passes: let its rows through to check them
        monkeypatch.setattr(gan_module, "quality_gate", _passing_gate)
    if hasattr(augmenter, "segment_bars"):
        original = augmenter.segment_bars

        def recording(segment: Any) -> pd.DataFrame:
            out = original(segment)
            used_bars.append((spy.fold, pd.DatetimeIndex(out.index)))
            return out

        monkeypatch.setattr(augmenter, "segment_bars", recording)
    cv = PurgedKFold(4, t1=t1, embargo=5)
    cross_validate(LogisticRegression(max_iter=200), X, y, cv=cv, t1=t1, resampler=spy)
    splits = list(cv.split_with_info(X))
    assert [fold for fold, _, _ in spy.calls] == list(range(len(splits)))
    made = 0
    for (_, given, out), info in zip(spy.calls, splits, strict=True):
        # 1. handed exactly the purged/embargoed training rows of the split
        assert given.X.index.equals(X.index[info.train])
        assert not set(given.X.index) & set(X.index[info.test])
        # 2. synthetic rows inside one training segment's hull: never in a test span
        test_start = _ns(X.index[info.test]).min()
        test_end = _ns(t1.iloc[info.test]).max()
        segments = training_segments(given)
        hulls = np.array([[_ns([s.start])[0], _ns([s.end])[0]] for s in segments])
        a, b = _ns(out.X.index), _ns(out.t1)
        inside = ((a[:, None] >= hulls[:, 0]) & (b[:, None] <= hulls[:, 1])).any(axis=1)
        assert inside.all()
        assert not ((b >= test_start) & (a <= test_end)).any()
        assert out.X.index.is_monotonic_increasing
        assert (b >= a).all()
        made += out.n_synthetic
        # 3. synthetic rows are made of the inputs only
        n_new = out.n_synthetic
        if method in ("random_over", "block_bootstrap", "block_bootstrap_stationary_auto"):
            real = {tuple(r) for r in given.X.to_numpy()}
            assert all(tuple(r) in real for r in out.X.to_numpy())
        if method == "random_under":
            assert n_new == 0
            assert len(out) < len(given)
            assert out.X.index.isin(given.X.index).all()
    # 4. the bars a path generator learned from or laid paths on: none in the test span
    for fold, index in used_bars:
        info = splits[fold]
        lo, hi = _ns(X.index[info.test]).min(), _ns(t1.iloc[info.test]).max()
        times = _ns(index)
        assert not ((times >= lo) & (times <= hi)).any()
    assert bool(used_bars) == hasattr(augmenter, "segment_bars")
    if method != "random_under":
        assert made > 0
