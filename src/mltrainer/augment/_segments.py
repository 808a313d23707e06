"""Contiguous training segments, and training rows with synthetic rows merged in.

A fold's training rows come in segments: runs of rows whose label spans ``[t0, t1]``
chain into one another (each row starts no later than the latest end so far). Purging
removes every training row whose span overlaps a test span, so a test block always
breaks the chain: rows before it end before it starts, rows after it start after it
ends. Hence the hull ``[first t0, last t1]`` of a segment contains no test label span,
and a synthetic row whose ``t0`` and ``t1`` are taken from rows of one segment can never
reach into a test span. Every augmenter builds a synthetic row from one segment only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mltrainer.cv import TrainingRows
from mltrainer.exceptions import DataError

__all__ = ["Segment", "SyntheticRows", "merge_rows", "segment_ids", "training_segments"]


def _ns(values: pd.Index | pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(values).as_unit("ns").asi8


def segment_ids(t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """Segment number of each row (rows sorted by ``t0``; int64 nanosecond times).

    A new segment starts where a row's ``t0`` is later than every earlier row's ``t1``.

    Examples
    --------
    >>> t0 = np.array([0, 1, 2, 10, 11])
    >>> t1 = np.array([1, 2, 3, 11, 12])
    >>> segment_ids(t0, t1).tolist()
    [0, 0, 0, 1, 1]
    """
    if t0.size == 0:
        return np.zeros(0, dtype=np.int64)
    reach = np.maximum.accumulate(t1)
    new = np.zeros(t0.size, dtype=bool)
    new[1:] = t0[1:] > reach[:-1]
    return np.cumsum(new).astype(np.int64)


@dataclass(frozen=True)
class Segment:
    """Row positions (into the rows handed to a resampler) of one contiguous segment."""

    number: int
    rows: np.ndarray
    start: pd.Timestamp
    end: pd.Timestamp

    def __len__(self) -> int:
        return int(self.rows.size)


def training_segments(rows: TrainingRows) -> list[Segment]:
    """The contiguous segments of ``rows`` (see the module docstring), in time order.

    Raises
    ------
    DataError
        When the rows carry no datetime index or no label end times.
    """
    X = rows.X
    if not isinstance(X, pd.DataFrame) or not isinstance(X.index, pd.DatetimeIndex):
        raise DataError(
            "augmentation needs the training rows as a DataFrame indexed by decision time t0"
        )
    if rows.t1 is None:
        raise DataError("augmentation needs the label end times t1 of the training rows")
    t0 = _ns(X.index)
    t1 = _ns(pd.DatetimeIndex(rows.t1))
    order = np.argsort(t0, kind="stable")
    ids = segment_ids(t0[order], t1[order])
    cuts = np.flatnonzero(np.diff(ids)) + 1
    out = []
    for number, part in enumerate(np.split(order, cuts)):
        if part.size:
            start = X.index[part].min()
            end = pd.DatetimeIndex(rows.t1.iloc[part]).max()
            out.append(Segment(number, part, start, end))
    return out


@dataclass(frozen=True)
class SyntheticRows:
    """Rows an augmenter made up: features, targets, weights, t0 (index of X) and t1."""

    X: pd.DataFrame
    y: np.ndarray
    weight: np.ndarray
    t1: pd.DatetimeIndex

    def __len__(self) -> int:
        return len(self.X)

    @classmethod
    def empty(cls, like: pd.DataFrame, y_dtype: np.dtype) -> SyntheticRows:
        """No rows, with ``like``'s columns."""
        return cls(like.iloc[:0], np.zeros(0, dtype=y_dtype), np.zeros(0), pd.DatetimeIndex([]))


def _weights(rows: TrainingRows) -> np.ndarray:
    if rows.sample_weight is None:
        return np.ones(len(rows))
    return np.asarray(rows.sample_weight, dtype=float)


def merge_rows(
    rows: TrainingRows,
    synthetic: list[SyntheticRows],
    *,
    keep: np.ndarray | None = None,
    weight: float = 1.0,
) -> TrainingRows:
    """The real rows (those at positions ``keep``, default all) plus ``synthetic``, by t0.

    Rows are sorted by ``t0`` (stably, real rows first at equal times), so the result can
    be split again by a purged splitter. Weights are carried along (synthetic ones times
    ``weight``); when the real rows had none and every weight is 1, none are returned.
    """
    X, t1 = rows.X, rows.t1
    assert isinstance(X, pd.DataFrame)
    assert t1 is not None
    keep = np.arange(len(rows)) if keep is None else keep
    real_y = np.asarray(rows.y)[keep]
    parts_X = [X.iloc[keep], *(s.X for s in synthetic if len(s))]
    parts_y = [real_y, *(np.asarray(s.y, dtype=real_y.dtype) for s in synthetic if len(s))]
    parts_w = [_weights(rows)[keep], *(weight * s.weight for s in synthetic if len(s))]
    parts_t1 = [pd.DatetimeIndex(t1.iloc[keep]), *(s.t1 for s in synthetic if len(s))]
    n_synthetic = sum(len(s) for s in synthetic)
    merged_X = pd.concat(parts_X) if len(parts_X) > 1 else parts_X[0]
    t0 = _ns(merged_X.index)
    order = np.argsort(t0, kind="stable")
    new_X = merged_X.iloc[order]
    real_ends = pd.DatetimeIndex(t1)
    ends = pd.to_datetime(np.concatenate([_ns(p) for p in parts_t1])[order], unit="ns", utc=True)
    ends = ends.tz_convert(real_ends.tz) if real_ends.tz is not None else ends.tz_localize(None)
    new_t1 = pd.Series(ends.as_unit(real_ends.unit), index=new_X.index, name=t1.name)
    y = np.concatenate(parts_y)[order]
    new_y = (
        pd.Series(y, index=new_X.index, name=rows.y.name) if isinstance(rows.y, pd.Series) else y
    )
    w = np.concatenate(parts_w)[order]
    sample_weight = None if rows.sample_weight is None and np.all(w == 1.0) else w
    return TrainingRows(new_X, new_y, sample_weight, new_t1, rows.n_synthetic + n_synthetic)
