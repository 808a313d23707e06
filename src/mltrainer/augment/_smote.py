"""SMOTE and relatives (imbalanced-learn) inside each contiguous training segment.

Each segment of a fold's training rows (see :mod:`mltrainer.augment._segments`) is
resampled on its own, so a synthetic row interpolates two rows of one segment and never
bridges a test block. Neighbours are searched in features standardised over the segment.

imbalanced-learn does not say which two rows a synthetic row was drawn between, and the
t0/t1 rule needs them (a synthetic row takes the later ``t0`` and the later ``t1`` of its
parents; its weight is interpolated like its features). So every row is handed to the
sampler with two extra tag columns, its position and a random code, scaled by ``2**-530``:
far too small to change a distance (their squares underflow to zero), yet interpolated
exactly like the features (a power-of-two scale is exact). A synthetic row's tags are
``tag_i + s * (tag_j - tag_i)``; the pair ``(i, j)`` among the neighbour pairs the sampler
queried, and the step ``s``, are the ones that reproduce both tags. The synthetic row's
features are then rebuilt from the raw features of its parents with that step.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from mltrainer.augment._segments import Segment, SyntheticRows, merge_rows, training_segments
from mltrainer.cv import TrainingRows
from mltrainer.exceptions import ConfigError, DataError

__all__ = ["SmoteAugmenter", "class_targets"]

logger = logging.getLogger("mltrainer")

_SCALE = 2.0**-530  # tags: exact to scale, invisible to distances
_INTERPOLATING = ("smote", "borderline_smote", "adasyn")


class _RecordingNeighbors(NearestNeighbors):
    """``NearestNeighbors`` that records every (query row, neighbour row) pair it returns.

    Rows are identified by the position tag (second-to-last column) of the data given.
    """

    def fit(self, X: Any, y: Any = None) -> _RecordingNeighbors:
        super().fit(X, y)
        self.fitted_positions_ = np.rint(np.asarray(X)[:, -2] / _SCALE).astype(np.int64)
        return self

    def kneighbors(
        self, X: Any = None, n_neighbors: int | None = None, return_distance: bool = True
    ) -> Any:
        result = super().kneighbors(X, n_neighbors, return_distance)
        indices = result[1] if return_distance else result
        query = self.fitted_positions_ if X is None else np.asarray(X)[:, -2] / _SCALE
        base = np.rint(query).astype(np.int64)
        pairs = getattr(self, "pairs_", [])
        pairs.append((np.repeat(base, indices.shape[1]), self.fitted_positions_[np.ravel(indices)]))
        self.pairs_ = pairs
        return result


def class_targets(
    counts: Mapping[int, int], strategy: float | str, *, under: bool
) -> dict[int, int]:
    """Rows wanted per class after resampling, for a float ``strategy``.

    Over-sampling: every class up to ``ceil(strategy * largest)`` (never fewer than it
    has); under-sampling: every class down to ``ceil(smallest / strategy)`` (never more).
    For two classes this is imbalanced-learn's own float rule.

    Examples
    --------
    >>> class_targets({0: 80, 1: 20}, 0.5, under=False)
    {0: 80, 1: 40}
    >>> class_targets({0: 80, 1: 20}, 0.5, under=True)
    {0: 40, 1: 20}
    """
    ratio = float(strategy)
    if under:
        cap = math.ceil(min(counts.values()) / ratio)
        return {c: min(n, cap) for c, n in counts.items()}
    floor = math.ceil(ratio * max(counts.values()))
    return {c: max(n, floor) for c, n in counts.items()}


def _string_targets(y: np.ndarray, strategy: str, *, under: bool) -> dict[int, int]:
    from imblearn.utils import check_sampling_strategy

    kind = "under-sampling" if under else "over-sampling"
    values, counts = np.unique(y, return_counts=True)
    plan = check_sampling_strategy(strategy, y, kind)
    have = dict(zip(values.tolist(), counts.tolist(), strict=True))
    if under:
        return {c: int(plan.get(c, n)) for c, n in have.items()}
    return {c: n + int(plan.get(c, 0)) for c, n in have.items()}


def _decode(
    tags: np.ndarray, pairs: tuple[np.ndarray, np.ndarray], code: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parents ``(i, j)`` and step ``s`` of each synthetic row from its two tags."""
    pos, val = tags[:, 0] / _SCALE, tags[:, 1] / _SCALE
    base, other = pairs
    keep = np.unique(np.stack([base, other]), axis=1)  # each (i, j) pair once
    base, other = keep
    span = (other - base).astype(float)
    c_base, c_other = code[base], code[other]
    m = pos.size
    found_i = np.full(m, -1, dtype=np.int64)
    found_j = np.full(m, -1, dtype=np.int64)
    steps = np.zeros(m)
    chunk = max(1, 4_000_000 // max(1, base.size))
    for start in range(0, m, chunk):
        sl = slice(start, min(m, start + chunk))
        offset = pos[sl, None] - base[None, :]
        step = np.divide(offset, span, out=np.zeros_like(offset), where=span != 0)
        guess = c_base + step * (c_other - c_base)
        ok = np.abs(guess - val[sl, None]) <= 1e-9 * (1.0 + np.abs(val[sl, None]))
        ok &= (step >= -1e-12) & (step <= 1.0 + 1e-12)
        ok &= (span != 0) | (np.abs(offset) <= 1e-9)
        hit = ok.any(axis=1)
        if not hit.all():
            raise DataError(
                "could not trace a synthetic row back to the two training rows it was drawn "
                "between (imbalanced-learn changed how it interpolates?); use method "
                "random_over or block_bootstrap"
            )
        first = ok.argmax(axis=1)
        found_i[sl] = base[first]
        found_j[sl] = other[first]
        steps[sl] = np.clip(step[np.arange(first.size), first], 0.0, 1.0)
    return found_i, found_j, steps


class SmoteAugmenter:
    """A resampler that over/under-samples classes within each contiguous training segment.

    Parameters
    ----------
    method : {"smote", "borderline_smote", "adasyn", "random_over", "random_under"}
        The imbalanced-learn sampler.
    k_neighbors : int, default 5
        Neighbours of the interpolating samplers.
    sampling_strategy : float or str, default "auto"
        A float (see :func:`class_targets`) or an imbalanced-learn strategy string.
    weight : float, default 1.0
        Factor on synthetic rows' weights.
    random_state : int, default 0
        Seed; each fold and segment draws from its own stream.
    """

    def __init__(
        self,
        method: str = "smote",
        *,
        k_neighbors: int = 5,
        sampling_strategy: float | str = "auto",
        weight: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.method = method
        self.k_neighbors = k_neighbors
        self.sampling_strategy = sampling_strategy
        self.weight = weight
        self.random_state = random_state

    # -- what each class needs -----------------------------------------------------------

    @property
    def under(self) -> bool:
        """True for under-sampling (rows removed, none made up)."""
        return self.method == "random_under"

    def targets(self, y: np.ndarray) -> dict[int, int]:
        """Rows wanted per class among rows ``y``."""
        values, counts = np.unique(y, return_counts=True)
        have = dict(zip(values.tolist(), counts.tolist(), strict=True))
        if isinstance(self.sampling_strategy, str):
            return _string_targets(y, self.sampling_strategy, under=self.under)
        return class_targets(have, self.sampling_strategy, under=self.under)

    def check_fold(self, y: Any, *, fold: int) -> None:
        """Refuse a fold whose class to oversample has too few rows to interpolate.

        Raises
        ------
        DataError
            When a class that needs new rows has fewer than ``k_neighbors + 1`` rows.
        """
        y = np.asarray(y)
        if np.unique(y).size < 2:
            raise DataError(
                f"fold {fold}: the training rows hold a single class; SMOTE needs two or more"
            )
        if self.method not in _INTERPOLATING:
            return
        values, counts = np.unique(y, return_counts=True)
        wanted = self.targets(y)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            if wanted[value] > count and count < self.k_neighbors + 1:
                where = "the final fit" if fold < 0 else f"training fold {fold}"
                raise DataError(
                    f"augment: class {value} has {count} rows in {where}, fewer than "
                    f"k_neighbors + 1 = {self.k_neighbors + 1}: lower augment.k_neighbors, "
                    "use fewer folds or another method"
                )

    # -- resampling ----------------------------------------------------------------------

    def _sampler(self, targets: dict[int, int], n_rows: int, seed: int) -> Any:
        from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler
        from imblearn.under_sampling import RandomUnderSampler

        neighbours = _RecordingNeighbors(n_neighbors=self.k_neighbors + 1)
        if self.method == "smote":
            return SMOTE(sampling_strategy=targets, k_neighbors=neighbours, random_state=seed)
        if self.method == "borderline_smote":
            return BorderlineSMOTE(
                sampling_strategy=targets,
                k_neighbors=neighbours,
                m_neighbors=min(10, n_rows - 1),
                random_state=seed,
            )
        if self.method == "adasyn":
            return ADASYN(sampling_strategy=targets, n_neighbors=neighbours, random_state=seed)
        if self.method == "random_over":
            return RandomOverSampler(sampling_strategy=targets, random_state=seed)
        if self.method == "random_under":
            return RandomUnderSampler(sampling_strategy=targets, random_state=seed)
        raise ConfigError(f"unknown SMOTE-family method {self.method!r}")

    def _segment_targets(self, y: np.ndarray) -> dict[int, int] | None:
        values, counts = np.unique(y, return_counts=True)
        if values.size < 2:
            return None
        have = dict(zip(values.tolist(), counts.tolist(), strict=True))
        wanted = self.targets(y)
        if self.method in _INTERPOLATING:  # too few rows to interpolate here: left as is
            wanted = {c: (have[c] if have[c] <= self.k_neighbors else n) for c, n in wanted.items()}
        if wanted == have:
            return None
        return wanted

    def _interpolate(
        self, rows: TrainingRows, segment: Segment, targets: dict[int, int], seed: int
    ) -> SyntheticRows:
        X = rows.X
        assert isinstance(X, pd.DataFrame)
        assert rows.t1 is not None
        pos = segment.rows
        raw = X.iloc[pos].to_numpy(dtype=float)
        y = np.asarray(rows.y)[pos]
        scale = raw.std(axis=0)
        z = (raw - raw.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        code = np.random.default_rng(seed).standard_normal(pos.size)
        local = np.arange(pos.size, dtype=float)
        tagged = np.column_stack([z, local * _SCALE, code * _SCALE])
        sampler = self._sampler(targets, pos.size, seed)
        try:
            out_X, out_y = sampler.fit_resample(tagged, y)
        except (RuntimeError, ValueError) as exc:  # ADASYN: no majority neighbour, ...
            logger.debug("augment %s: segment %d left as is (%s)", self.method, segment.number, exc)
            return SyntheticRows.empty(X, y.dtype)
        out_X = np.asarray(out_X)
        if not np.array_equal(out_X[: pos.size], tagged):
            raise DataError(
                f"imbalanced-learn's {self.method} did not keep the real rows first; use "
                "method random_over or block_bootstrap"
            )
        new = out_X[pos.size :]
        if not new.shape[0]:
            return SyntheticRows.empty(X, y.dtype)
        nn = getattr(sampler, "nn_k_", None) or getattr(sampler, "nn_", None)
        recorded = getattr(nn, "pairs_", [])
        pairs = (
            np.concatenate([b for b, _ in recorded]),
            np.concatenate([o for _, o in recorded]),
        )
        i, j, step = _decode(new[:, -2:], pairs, code)
        features = raw[i] + step[:, None] * (raw[j] - raw[i])
        t0 = X.index[pos]
        t1 = pd.DatetimeIndex(rows.t1.iloc[pos])
        later_t0 = np.maximum(t0.as_unit("ns").asi8[i], t0.as_unit("ns").asi8[j])
        later_t1 = np.maximum(t1.as_unit("ns").asi8[i], t1.as_unit("ns").asi8[j])
        weights = np.ones(len(rows)) if rows.sample_weight is None else rows.sample_weight
        w = np.asarray(weights, dtype=float)[pos]
        index = pd.to_datetime(later_t0, unit="ns", utc=True).tz_convert(X.index.tz)
        frame = pd.DataFrame(features, index=index.as_unit(X.index.unit), columns=X.columns)
        frame = frame.astype(X.dtypes.to_dict())
        return SyntheticRows(
            frame,
            np.asarray(out_y)[pos.size :],
            (1.0 - step) * w[i] + step * w[j],
            pd.to_datetime(later_t1, unit="ns", utc=True).tz_convert(t1.tz),
        )

    def _copies(
        self, rows: TrainingRows, segment: Segment, targets: dict[int, int], seed: int
    ) -> np.ndarray:
        sampler = self._sampler(targets, len(segment), seed)
        y = np.asarray(rows.y)[segment.rows]
        sampler.fit_resample(np.zeros((len(segment), 1)), y)
        return segment.rows[np.asarray(sampler.sample_indices_)]

    def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
        """Resample ``rows`` class by class within each contiguous segment.

        Real rows are kept (all of them, except those ``random_under`` drops); synthetic
        rows are added after their ``t0`` (see :func:`merge_rows`).
        """
        self.check_fold(rows.y, fold=fold)
        y_all = np.asarray(rows.y)
        synthetic: list[SyntheticRows] = []
        keep: list[np.ndarray] = []
        for segment in training_segments(rows):
            seed = _seed(self.random_state, fold, segment.number)
            targets = self._segment_targets(y_all[segment.rows])
            if targets is None:
                keep.append(segment.rows)
                continue
            if self.method in _INTERPOLATING:
                keep.append(segment.rows)
                synthetic.append(self._interpolate(rows, segment, targets, seed))
                continue
            chosen = self._copies(rows, segment, targets, seed)
            if self.under:
                keep.append(np.sort(chosen))
            else:
                keep.append(segment.rows)
                extra = chosen[len(segment) :]
                synthetic.append(_copy_rows(rows, extra))
        kept = np.sort(np.concatenate(keep)) if keep else np.arange(0)
        return merge_rows(rows, synthetic, keep=kept, weight=self.weight)


def _seed(random_state: int, fold: int, segment: int) -> int:
    """A seed of its own for each (run seed, fold, segment)."""
    state = np.random.SeedSequence([int(random_state), fold + 1, segment]).generate_state(1)
    return int(state[0])


def _copy_rows(rows: TrainingRows, positions: np.ndarray) -> SyntheticRows:
    """Exact copies of the rows at ``positions`` (their t0, t1 and weight kept)."""
    X = rows.X
    assert isinstance(X, pd.DataFrame)
    assert rows.t1 is not None
    weights = np.ones(len(rows)) if rows.sample_weight is None else rows.sample_weight
    return SyntheticRows(
        X.iloc[positions],
        np.asarray(rows.y)[positions],
        np.asarray(weights, dtype=float)[positions],
        pd.DatetimeIndex(rows.t1.iloc[positions]),
    )
