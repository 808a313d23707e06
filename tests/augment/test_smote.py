"""SMOTE family: segments never bridged, parents' later t0/t1, weights, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mltrainer.augment import SmoteAugmenter, check_augment, check_folds, training_segments
from mltrainer.augment._smote import class_targets
from mltrainer.config import AugmentConfig
from mltrainer.cv import PurgedKFold, TrainingRows
from mltrainer.exceptions import ConfigError, DataError


def _rows(n: int = 400, gap: tuple[int, int] = (180, 240), seed: int = 0) -> TrainingRows:
    """Daily rows with a 3-day label span; rows in ``gap`` removed (a purged test block).

    Column ``time`` is the row's position: a synthetic row between rows on both sides of
    the gap would get a ``time`` inside the gap.
    """
    rng = np.random.default_rng(seed)
    t0 = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    t1 = pd.Series(t0 + pd.Timedelta("3D"), index=t0)
    X = pd.DataFrame(
        {"time": np.arange(n) / n, "a": rng.normal(size=n), "b": rng.normal(size=n)},
        index=t0,
    )
    y = pd.Series((rng.random(n) < 0.25).astype(np.int64), index=t0)
    keep = np.r_[0 : gap[0], gap[1] : n]
    w = rng.uniform(0.5, 1.5, size=keep.size)
    return TrainingRows(X.iloc[keep], y.iloc[keep], w, t1.iloc[keep])


def test_segments_split_at_the_purged_gap() -> None:
    segments = training_segments(_rows())
    assert [len(s) for s in segments] == [180, 160]
    assert segments[0].end < segments[1].start


@pytest.mark.parametrize("method", ["smote", "borderline_smote", "adasyn"])
def test_no_synthetic_row_bridges_a_test_block(method: str) -> None:
    rows = _rows()
    out = SmoteAugmenter(method, k_neighbors=5, sampling_strategy=1.0, random_state=0).resample(
        rows, fold=0
    )
    assert out.n_synthetic > 0
    time = out.X["time"].to_numpy()
    assert not ((time > 179 / 400) & (time < 240 / 400)).any()


def test_plain_smote_over_the_whole_fold_would_bridge_it() -> None:
    # the same check fails for imbalanced-learn's SMOTE run on the fold as a whole
    from imblearn.over_sampling import SMOTE

    rows = _rows()
    X_res, _ = SMOTE(sampling_strategy=1.0, k_neighbors=5, random_state=0).fit_resample(
        rows.X.to_numpy(), np.asarray(rows.y)
    )
    time = X_res[:, 0]
    assert ((time > 179 / 400) & (time < 240 / 400)).any()


def _parents(out: TrainingRows, rows: TrainingRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each synthetic row, the pair of real rows it lies between and the step."""
    real = rows.X.to_numpy()
    new = out.X.to_numpy()[~_is_real(out, rows)]
    found_i, found_j, found_s = [], [], []
    for s in new:
        best = (np.inf, -1, -1, 0.0)
        for i in range(real.shape[0]):
            d = real - real[i]
            norm = np.einsum("ij,ij->i", d, d)
            step = np.divide(d @ (s - real[i]), norm, out=np.zeros_like(norm), where=norm > 0)
            step = np.clip(step, 0, 1)
            resid = np.linalg.norm(real[i] + step[:, None] * d - s, axis=1)
            j = int(np.argmin(resid))
            if resid[j] < best[0]:
                best = (resid[j], i, j, step[j])
        assert best[0] < 1e-9
        found_i.append(best[1])
        found_j.append(best[2])
        found_s.append(best[3])
    return np.array(found_i), np.array(found_j), np.array(found_s)


def _is_real(out: TrainingRows, rows: TrainingRows) -> np.ndarray:
    real = {tuple(r) for r in rows.X.to_numpy()}
    return np.array([tuple(r) in real for r in out.X.to_numpy()])


def test_synthetic_rows_take_the_later_t0_and_t1_of_their_parents() -> None:
    rows = _rows(n=120, gap=(50, 70), seed=1)
    # label spans of uneven length: an earlier parent may end later
    rng = np.random.default_rng(2)
    ends = rows.X.index + pd.to_timedelta(rng.integers(1, 9, size=len(rows)), unit="D")
    rows = TrainingRows(rows.X, rows.y, rows.sample_weight, pd.Series(ends, index=rows.X.index))
    out = SmoteAugmenter("smote", k_neighbors=3, sampling_strategy=0.8, random_state=4).resample(
        rows, fold=0
    )
    synthetic = ~_is_real(out, rows)
    assert synthetic.sum() == out.n_synthetic > 0
    i, j, step = _parents(out, rows)
    t0 = rows.X.index.as_unit("ns").asi8
    t1 = pd.DatetimeIndex(rows.t1).as_unit("ns").asi8
    np.testing.assert_array_equal(
        out.X.index[synthetic].as_unit("ns").asi8, np.maximum(t0[i], t0[j])
    )
    np.testing.assert_array_equal(
        pd.DatetimeIndex(out.t1[synthetic]).as_unit("ns").asi8, np.maximum(t1[i], t1[j])
    )
    w = rows.sample_weight
    np.testing.assert_allclose(out.sample_weight[synthetic], (1 - step) * w[i] + step * w[j])
    segment = np.searchsorted(t0, t0[50])  # first row after the gap
    assert ((i < segment) == (j < segment)).all()  # both parents in one segment


def test_class_targets_float_rule() -> None:
    assert class_targets({0: 90, 1: 10, 2: 30}, 0.5, under=False) == {0: 90, 1: 45, 2: 45}
    assert class_targets({0: 90, 1: 10, 2: 30}, 0.5, under=True) == {0: 20, 1: 10, 2: 20}


def test_random_under_drops_rows_and_keeps_their_times() -> None:
    rows = _rows()
    out = SmoteAugmenter("random_under", sampling_strategy=1.0, random_state=0).resample(
        rows, fold=0
    )
    counts = np.bincount(np.asarray(out.y))
    assert counts[0] == counts[1]
    assert out.n_synthetic == 0
    assert out.X.index.isin(rows.X.index).all()


def test_smote_on_a_regression_label_is_refused_before_work() -> None:
    with pytest.raises(ConfigError, match="regression"):
        check_augment(AugmentConfig(method="smote"), "regression")
    check_augment(AugmentConfig(method="block_bootstrap"), "regression")


def test_a_minority_class_smaller_than_k_neighbors_is_refused_per_fold() -> None:
    rows = _rows()
    y = np.zeros(len(rows), dtype=np.int64)
    y[[10, 20, 300]] = 1  # three rows of class 1
    augmenter = SmoteAugmenter("smote", k_neighbors=5)
    with pytest.raises(DataError, match=r"class 1 has \d rows in training fold 0, fewer than"):
        check_folds(
            augmenter,
            rows.X,
            pd.Series(y, index=rows.X.index),
            rows.t1,
            PurgedKFold(3, t1=rows.t1),
        )


def test_unknown_method_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ValueError, match="did you mean 'smote'"):
        AugmentConfig(method="smot")
    with pytest.raises(ValueError, match="does not apply to method 'smote'"):
        AugmentConfig(method="smote", epochs=3)
