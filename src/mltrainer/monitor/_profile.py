"""The reference profile: what drift tests need from the training data, computed once.

A :class:`ReferenceProfile` holds, per feature (and for predictions and labels), a sorted
sample of the values (a quantile sketch when long), the reference spread, PSI bin edges
and frequencies, the null quantiles that calibrate the effect threshold, or, for
categorical columns, the category counts; the design effects of windows of consecutive
rows (:mod:`mltrainer.monitor._dependence`), measured on the reference in time order; and
the model's out-of-fold metrics. It round-trips through JSON (``to_dict`` / ``from_dict``:
plain lists and floats, no pickles), so the monitor needs only current data. Profiles
written by format 1 (before design effects and sketches) are still read: their columns
are calibrated as independent rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError
from mltrainer.monitor._calibration import simulate_bridges, wasserstein_null_quantiles
from mltrainer.monitor._column import (  # re-exported: the public names live here
    DEFAULT_SKETCH,
    MAX_CATEGORIES,
    N_BINS,
    ColumnProfile,
    _float,
    _num,
    is_categorical,
    profile_column,
)
from mltrainer.monitor._frames import label_series, prediction_frame

__all__ = [
    "DEFAULT_SKETCH",
    "MAX_CATEGORIES",
    "N_BINS",
    "ColumnProfile",
    "ReferenceProfile",
    "build_profile",
    "is_categorical",
]

_FORMAT = 2
_READABLE = (1, 2)

logger = logging.getLogger("mltrainer")


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """What monitoring needs from training: per-column statistics and the OOF metrics.

    Build with :func:`build_profile`; store with ``to_dict()`` (JSON-safe) and load with
    ``ReferenceProfile.from_dict``. ``sketch_size`` and ``time_structure`` record how it
    was built (see :func:`build_profile`).
    """

    features: dict[str, ColumnProfile]
    predictions: dict[str, ColumnProfile] = field(default_factory=dict)
    labels: ColumnProfile | None = None
    kind: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    n_rows: int = 0
    max_rows: int | None = 20_000
    random_state: int = 0
    sketch_size: int | None = None
    time_structure: bool = False

    @property
    def feature_names(self) -> list[str]:
        """Feature names in training order."""
        return list(self.features)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: lists, floats (NaN as ``None``), strings."""
        return {
            "format": _FORMAT,
            "kind": self.kind,
            "n_rows": self.n_rows,
            "max_rows": self.max_rows,
            "random_state": self.random_state,
            "sketch_size": self.sketch_size,
            "time_structure": self.time_structure,
            "metrics": {k: _num(v) for k, v in self.metrics.items()},
            "features": [c.to_dict() for c in self.features.values()],
            "predictions": [c.to_dict() for c in self.predictions.values()],
            "labels": None if self.labels is None else self.labels.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReferenceProfile:
        """Inverse of :meth:`to_dict`; reads formats 1 and 2, refuses others."""
        version = d.get("format")
        if version not in _READABLE:
            raise DataError(
                f"reference profile format {version!r} is not one of {list(_READABLE)}:"
                " rebuild the profile with this version of mltrainer (build_profile)"
            )
        if version == 1:
            logger.warning(
                "reference profile format 1 has no design effects: drift is calibrated as"
                " if rows were independent (flags fire often on autocorrelated features);"
                " retrain the model to save a format %d profile",
                _FORMAT,
            )
        features = [ColumnProfile.from_dict(c) for c in d["features"]]
        predictions = [ColumnProfile.from_dict(c) for c in d.get("predictions") or []]
        labels = d.get("labels")
        sketch = d.get("sketch_size")
        return cls(
            features={c.name: c for c in features},
            predictions={c.name: c for c in predictions},
            labels=None if labels is None else ColumnProfile.from_dict(labels),
            kind=d.get("kind"),
            metrics={k: _float(v) for k, v in (d.get("metrics") or {}).items()},
            n_rows=int(d.get("n_rows", 0)),
            max_rows=None if d.get("max_rows") is None else int(d["max_rows"]),
            random_state=int(d.get("random_state", 0)),
            sketch_size=None if sketch is None else int(sketch),
            time_structure=bool(d.get("time_structure", False)),
        )


def time_order(index: pd.Index) -> np.ndarray | None:
    """Positions of the rows in time order: a stable sort of a datetime index that is not
    already increasing (a panel's rows of one t0 keep their order), else None (as given)."""
    if isinstance(index, pd.DatetimeIndex) and not index.is_monotonic_increasing:
        return np.argsort(index.asi8, kind="stable")
    return None


def build_profile(
    X: pd.DataFrame,
    *,
    predictions: np.ndarray | None = None,
    labels: np.ndarray | pd.Series | None = None,
    kind: str | None = None,
    metrics: Mapping[str, float] | None = None,
    max_rows: int | None = 20_000,
    random_state: int = 0,
    categorical: Mapping[str, bool] | None = None,
    sketch_size: int | None = DEFAULT_SKETCH,
    time_structure: bool = True,
    window_sizes: Sequence[int] | None = None,
) -> ReferenceProfile:
    """Profile the training data so drift can be tested against current data alone.

    Parameters
    ----------
    X : DataFrame
        Training features (rows = samples), indexed by decision time t0 in time order (a
        datetime index out of order is put in order with a stable sort, so panels that
        repeat a t0 per symbol keep their rows of one t0 together).
    predictions : ndarray, optional
        Out-of-fold predictions: shape (n,) (class, probability or value) or (n, k)
        (class probabilities; columns ``proba_0`` ... ``proba_{k-1}``), aligned with X.
    labels : array-like, optional
        Training labels aligned with X; categorical when ``kind == "classification"``.
    kind : {"classification", "regression"}, optional
    metrics : mapping, optional
        Out-of-fold metrics to keep beside the profile.
    max_rows : int or None, default 20_000
        Rows sampled (uniformly at random, the same rows for every column) for the sorted
        values that KS and Wasserstein use; None keeps every row. Bin frequencies,
        moments, category counts and design effects always use every row.
    random_state : int, default 0
        Seeds the row sample and the null simulation.
    categorical : mapping of column name to bool, optional
        Overrides :func:`is_categorical` per column.
    sketch_size : int or None, default :data:`DEFAULT_SKETCH` (2,048)
        Sorted values stored per continuous column: a longer sample keeps this many evenly
        spaced order statistics (7 significant digits), so its distribution function is
        within about ``1 / sketch_size`` of the sample's and ``profile.json`` stays small;
        the tests still count the sampled rows as the reference size. None stores all.
    time_structure : bool, default True
        Measure each column's design effect: how much more windows of consecutive rows
        of the reference vary than independent rows would
        (:mod:`mltrainer.monitor._dependence`), which calibrates the drift tests to the
        reference's own autocorrelation. False treats rows as independent (the
        row-permutation calibration), e.g. for shuffled data.
    window_sizes : sequence of int, optional
        Window sizes (rows) at which to measure design effects; default a grid from 2
        rows to a tenth of the reference (the largest size with ten disjoint windows;
        larger requests are measured there).

    Returns
    -------
    ReferenceProfile
    """
    if not isinstance(X, pd.DataFrame):
        raise DataError(f"X must be a pandas DataFrame of features, not {type(X).__name__}")
    if len(X) == 0 or X.shape[1] == 0:
        raise DataError(
            f"X is empty ({X.shape[0]} rows x {X.shape[1]} columns): nothing to profile"
        )
    if max_rows is not None and max_rows < 2:
        raise DataError(f"max_rows={max_rows} must be at least 2 (or None for every row)")
    if sketch_size is not None and sketch_size < 2:
        raise DataError(f"sketch_size={sketch_size} must be at least 2 (or None for all)")
    overrides = dict(categorical or {})
    unknown = sorted(set(overrides) - {str(c) for c in X.columns})
    if unknown:
        raise DataError(f"categorical names unknown column(s) {unknown}: use names from X.columns")
    n = len(X)
    rows = None
    if max_rows is not None and n > max_rows:
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(n, size=max_rows, replace=False))
    common: dict[str, Any] = {
        "rows": rows,
        "order": time_order(X.index),
        "time_structure": time_structure,
        "window_sizes": window_sizes,
        "sketch_size": sketch_size,
        "random_state": random_state,
        "calibrate": False,
    }
    features = {
        str(c): profile_column(X[c], name=str(c), categorical=overrides.get(str(c)), **common)
        for c in X.columns
    }
    preds: dict[str, ColumnProfile] = {}
    if predictions is not None:
        frame = prediction_frame(predictions, n_rows=n)
        preds = {str(c): profile_column(frame[c], name=str(c), **common) for c in frame.columns}
    label_profile = None
    if labels is not None:
        series = label_series(labels, n_rows=n)
        cat = True if kind == "classification" else (False if kind == "regression" else None)
        label_profile = profile_column(series, name="label", categorical=cat, **common)
    features, preds, label_profile = _calibrate(
        features, preds, label_profile, simulate_bridges(random_state)
    )
    return ReferenceProfile(
        features=features,
        predictions=preds,
        labels=label_profile,
        kind=kind,
        metrics={str(k): float(v) for k, v in (metrics or {}).items()},
        n_rows=n,
        max_rows=max_rows,
        random_state=random_state,
        sketch_size=sketch_size,
        time_structure=time_structure,
    )


def _calibrate(
    features: dict[str, ColumnProfile],
    preds: dict[str, ColumnProfile],
    labels: ColumnProfile | None,
    bridges: np.ndarray,
) -> tuple[dict[str, ColumnProfile], dict[str, ColumnProfile], ColumnProfile | None]:
    """Fill every continuous column's null quantiles with one matrix product."""
    columns = [*features.values(), *preds.values(), *([labels] if labels is not None else [])]
    continuous = [c for c in columns if not c.categorical]
    nulls = wasserstein_null_quantiles([c.sample for c in continuous], bridges=bridges)
    done = {id(c): replace(c, null_w1=q / c.spread) for c, q in zip(continuous, nulls, strict=True)}

    def fill(col: ColumnProfile) -> ColumnProfile:
        return done.get(id(col), col)

    return (
        {k: fill(c) for k, c in features.items()},
        {k: fill(c) for k, c in preds.items()},
        None if labels is None else fill(labels),
    )
