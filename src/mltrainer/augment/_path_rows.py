"""Training rows from synthetic price paths laid on a training segment's timeline.

For each contiguous training segment, the bars from its first ``t0`` to its last ``t1``
are the only bars a path generator may learn from or resample. A synthetic path has the
same timestamps as those bars; features and labels are computed on it exactly as on real
bars, and its rows keep the bar timestamp as ``t0`` and the label's end on the path as
``t1``. Only rows whose whole span ``[t0, t1]`` lies inside the segment's hull are kept
(the first ``lookback`` rows of a path have no features and are dropped), so no
synthetic row reaches into a test span. A synthetic row's ``t0`` therefore repeats the
``t0`` of a real row: a DatetimeIndex with duplicates, like a panel's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.augment._segments import Segment, SyntheticRows, merge_rows, training_segments
from mltrainer.cv import TrainingRows
from mltrainer.exceptions import DataError
from mltrainer.features import compute_features
from mltrainer.labels import make_labels

__all__ = ["PathAugmenter", "PathSource", "path_rows"]

logger = logging.getLogger("mltrainer")

PathSource = Callable[[pd.DataFrame, int, int], list[pd.DataFrame]]
"""``source(segment_bars, n_paths, seed)`` -> synthetic bar paths with the same index."""


def path_rows(
    path: pd.DataFrame,
    *,
    features: Sequence[Mapping[str, Any]] | None,
    label: Mapping[str, Any],
    columns: Sequence[str],
    classes: Sequence[float] | None,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[pd.DataFrame, np.ndarray, pd.DatetimeIndex]:
    """Features, encoded targets and label ends of a path's rows inside ``[start, end]``.

    Classification targets are encoded like the real ones (position in ``classes``); a
    row whose class the real data never had is dropped.
    """
    X = compute_features(path, features)
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise DataError(f"synthetic path features lack column(s) {missing[:3]}")
    X = X[list(columns)]
    labels = make_labels(path, label)
    t1 = pd.DatetimeIndex(labels.t1)
    valid = np.asarray(labels.valid, dtype=bool) & np.isfinite(X.to_numpy(dtype=float)).all(axis=1)
    valid &= (X.index >= start) & (t1 <= end)
    y = labels.y.to_numpy(dtype=float)
    if classes is not None:
        values = np.asarray(classes, dtype=float)
        codes = np.clip(np.searchsorted(values, y), 0, values.size - 1)
        valid &= values[codes] == y
        y = codes
    keep = np.flatnonzero(valid)
    return X.iloc[keep], y[keep], t1[keep]


class PathAugmenter:
    """Adds rows computed on synthetic paths of each training segment's bars.

    Parameters
    ----------
    bars : DataFrame
        The run's bars (one instrument), indexed by bar close time.
    source : callable
        ``source(segment_bars, n_paths, seed)`` -> paths (see :data:`PathSource`).
    features, label
        The run's feature and label specs (the same ones the real rows were built with).
    columns : list of str
        The real rows' feature columns, in order.
    classes : list of float or None
        The real label's class values (classification), for the encoding.
    multiplier : float, default 2.0
        Rows after augmentation over real rows, per segment.
    weight : float, default 1.0
        Factor on synthetic rows' weights (each starts at its segment's mean weight).
    random_state : int, default 0
        Seed; every fold and segment draws its own stream.
    """

    def __init__(
        self,
        bars: pd.DataFrame,
        source: PathSource,
        *,
        features: Sequence[Mapping[str, Any]] | None,
        label: Mapping[str, Any],
        columns: Sequence[str],
        classes: Sequence[float] | None,
        multiplier: float = 2.0,
        weight: float = 1.0,
        random_state: int = 0,
    ) -> None:
        if "symbol" in bars.columns and bars["symbol"].nunique() > 1:
            raise DataError(
                "augment with synthetic paths works on one instrument; the data hold "
                f"{bars['symbol'].nunique()} symbols: pick one with data.symbols or use "
                "augment.unit: rows"
            )
        self.bars = bars
        self.source = source
        self.features = features
        self.label = label
        self.columns = list(columns)
        self.classes = classes
        self.multiplier = multiplier
        self.weight = weight
        self.random_state = random_state

    def segment_bars(self, segment: Segment) -> pd.DataFrame:
        """The bars from the segment's first t0 to its last t1."""
        index = self.bars.index
        lo = index.searchsorted(segment.start, side="left")
        hi = index.searchsorted(segment.end, side="right")
        return self.bars.iloc[lo:hi]

    def _segment_rows(
        self, rows: TrainingRows, segment: Segment, seed: int
    ) -> SyntheticRows | None:
        bars = self.segment_bars(segment)
        wanted = round((self.multiplier - 1.0) * len(segment))
        if wanted < 1 or len(bars) < 3:
            return None
        n_paths = max(1, math.ceil(self.multiplier - 1.0))
        made_X, made_y, made_t1 = [], [], []
        for path in self.source(bars, n_paths, seed):
            X, y, t1 = path_rows(
                path,
                features=self.features,
                label=self.label,
                columns=self.columns,
                classes=self.classes,
                start=segment.start,
                end=segment.end,
            )
            made_X.append(X)
            made_y.append(y)
            made_t1.append(t1)
        X = pd.concat(made_X)
        if not len(X):
            logger.debug("augment: segment %d too short for any synthetic row", segment.number)
            return None
        y = np.concatenate(made_y)
        t1 = made_t1[0].append(made_t1[1:]) if len(made_t1) > 1 else made_t1[0]
        take = np.arange(len(X))
        if len(X) > wanted:
            take = np.sort(np.random.default_rng(seed).choice(len(X), wanted, replace=False))
        weights = np.ones(len(rows)) if rows.sample_weight is None else rows.sample_weight
        mean_weight = float(np.mean(np.asarray(weights, dtype=float)[segment.rows]))
        real_y = np.asarray(rows.y)
        frame = X.iloc[take].astype(rows.X.dtypes.to_dict())
        frame.index = frame.index.as_unit(rows.X.index.unit)
        return SyntheticRows(
            frame,
            y[take].astype(real_y.dtype),
            np.full(take.size, mean_weight),
            t1[take],
        )

    def prepare(self, rows: TrainingRows, segments: list[Segment], *, fold: int) -> bool:
        """Called once per fold before any path is drawn; False leaves the fold as it is."""
        return True

    def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
        """The real rows plus rows computed on synthetic paths of each segment."""
        segments = training_segments(rows)
        if not self.prepare(rows, segments, fold=fold):
            return rows
        synthetic = []
        for segment in segments:
            state = np.random.SeedSequence([int(self.random_state), fold + 1, segment.number])
            made = self._segment_rows(rows, segment, int(state.generate_state(1)[0]))
            if made is not None:
                synthetic.append(made)
        return merge_rows(rows, synthetic, weight=self.weight)
