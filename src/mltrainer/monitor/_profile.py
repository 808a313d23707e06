"""The reference profile: what drift tests need from the training data, computed once.

A :class:`ReferenceProfile` holds, per feature (and for predictions and labels), a sorted
sample of the values, the reference spread, PSI bin edges and frequencies, the null
quantiles that calibrate the effect threshold, or, for categorical columns, the category
counts; plus the model's out-of-fold metrics. It round-trips through JSON (``to_dict`` /
``from_dict``: plain lists and floats, no pickles), so the monitor needs only current data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError
from mltrainer.monitor._calibration import simulate_bridges, wasserstein_null_quantiles
from mltrainer.monitor._frames import label_series, prediction_frame

__all__ = [
    "MAX_CATEGORIES",
    "N_BINS",
    "ColumnProfile",
    "ReferenceProfile",
    "build_profile",
    "is_categorical",
]

MAX_CATEGORIES = 20
"""An integer-valued numeric column with at most this many distinct values is categorical."""

N_BINS = 10
"""PSI bins for continuous columns: the reference's deciles."""

_FORMAT = 1


def is_categorical(values: pd.Series) -> bool:
    """The categorical rule: non-numeric (text, category, bool) or few distinct integers.

    A numeric column is categorical when every finite value is an integer and it takes at
    most :data:`MAX_CATEGORIES` distinct values (e.g. ``day_of_week``, ``month``).
    """
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return True
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0 or not np.array_equal(arr, np.round(arr)):
        return False
    return len(pd.unique(arr)) <= MAX_CATEGORIES


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """The reference statistics of one column (a feature, a prediction or the label).

    Attributes
    ----------
    name : str
    categorical : bool
        Tested with chi-square on category counts (else KS on the sorted sample).
    numeric : bool
        Whether values are numbers (a current window must then be numeric too).
    n, n_missing : int
        Non-missing and missing values in the whole reference.
    sample : ndarray
        Sorted non-missing values (at most ``max_rows``); empty for categorical columns.
    mean, std, spread : float
        Reference moments; ``spread`` (std, else 1) scales the Wasserstein distance.
    bin_edges, bin_freq : ndarray
        Interior PSI bin edges (reference deciles) and the reference's bin frequencies.
    null_w1 : ndarray
        Quantiles at :data:`NULL_LEVELS` of the size-free null distribution of the
        spread-scaled Wasserstein distance (multiply by ``sqrt(1/n + 1/m)``).
    categories, counts : list, ndarray
        Categories (sorted) and their reference counts, for categorical columns.
    """

    name: str
    categorical: bool
    numeric: bool
    n: int
    n_missing: int
    sample: np.ndarray
    mean: float
    std: float
    spread: float
    bin_edges: np.ndarray
    bin_freq: np.ndarray
    null_w1: np.ndarray
    categories: list[Any] = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN stored as ``None``)."""
        return {
            "name": self.name,
            "categorical": self.categorical,
            "numeric": self.numeric,
            "n": self.n,
            "n_missing": self.n_missing,
            "sample": self.sample.tolist(),
            "mean": _num(self.mean),
            "std": _num(self.std),
            "spread": _num(self.spread),
            "bin_edges": self.bin_edges.tolist(),
            "bin_freq": self.bin_freq.tolist(),
            "null_w1": self.null_w1.tolist(),
            "categories": list(self.categories),
            "counts": self.counts.astype(np.int64).tolist(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColumnProfile:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=str(d["name"]),
            categorical=bool(d["categorical"]),
            numeric=bool(d["numeric"]),
            n=int(d["n"]),
            n_missing=int(d["n_missing"]),
            sample=np.asarray(d["sample"], dtype=np.float64),
            mean=_float(d["mean"]),
            std=_float(d["std"]),
            spread=_float(d["spread"]),
            bin_edges=np.asarray(d["bin_edges"], dtype=np.float64),
            bin_freq=np.asarray(d["bin_freq"], dtype=np.float64),
            null_w1=np.asarray(d["null_w1"], dtype=np.float64),
            categories=list(d["categories"]),
            counts=np.asarray(d["counts"], dtype=np.float64),
        )


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """What monitoring needs from training: per-column statistics and the OOF metrics.

    Build with :func:`build_profile`; store with ``to_dict()`` (JSON-safe) and load with
    ``ReferenceProfile.from_dict``.
    """

    features: dict[str, ColumnProfile]
    predictions: dict[str, ColumnProfile] = field(default_factory=dict)
    labels: ColumnProfile | None = None
    kind: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    n_rows: int = 0
    max_rows: int | None = 20_000
    random_state: int = 0

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
            "metrics": {k: _num(v) for k, v in self.metrics.items()},
            "features": [c.to_dict() for c in self.features.values()],
            "predictions": [c.to_dict() for c in self.predictions.values()],
            "labels": None if self.labels is None else self.labels.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReferenceProfile:
        """Inverse of :meth:`to_dict`; refuses an unknown format version."""
        if d.get("format") != _FORMAT:
            raise DataError(
                f"reference profile format {d.get('format')!r} is not {_FORMAT}:"
                " rebuild the profile with this version of mltrainer (build_profile)"
            )
        features = [ColumnProfile.from_dict(c) for c in d["features"]]
        predictions = [ColumnProfile.from_dict(c) for c in d.get("predictions") or []]
        labels = d.get("labels")
        return cls(
            features={c.name: c for c in features},
            predictions={c.name: c for c in predictions},
            labels=None if labels is None else ColumnProfile.from_dict(labels),
            kind=d.get("kind"),
            metrics={k: _float(v) for k, v in (d.get("metrics") or {}).items()},
            n_rows=int(d.get("n_rows", 0)),
            max_rows=None if d.get("max_rows") is None else int(d["max_rows"]),
            random_state=int(d.get("random_state", 0)),
        )


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _float(x: Any) -> float:
    return math.nan if x is None else float(x)


def profile_column(
    values: pd.Series,
    *,
    name: str,
    categorical: bool | None = None,
    rows: np.ndarray | None = None,
    random_state: int = 0,
    bridges: np.ndarray | None = None,
    calibrate: bool = True,
) -> ColumnProfile:
    """Profile one column; ``rows`` are the positions kept in the sorted sample (all if None)."""
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    )
    if categorical is None:
        categorical = is_categorical(values)
    if not categorical and not numeric:
        raise DataError(
            f"column '{name}' holds {values.dtype} values and cannot be treated as continuous:"
            " mark it categorical or convert it to numbers"
        )
    missing = values.isna().to_numpy()
    n_missing = int(missing.sum())
    n = int(values.size - n_missing)
    if n == 0:
        raise DataError(f"column '{name}' has no non-missing values in the reference data")
    empty = np.zeros(0)
    if categorical:
        counts = values[~missing].value_counts(sort=False)
        if numeric:
            cats: list[Any] = sorted(float(c) for c in counts.index)
            cnt = np.array([counts[c] for c in counts.index], dtype=np.float64)
            order = np.argsort(np.asarray(counts.index, dtype=np.float64))
            cnt = cnt[order]
            codes = np.asarray(cats, dtype=np.float64)
            mean = float(np.dot(codes, cnt) / n)
            std = float(np.sqrt(np.dot((codes - mean) ** 2, cnt) / n))
        else:
            cats = sorted(str(c) for c in counts.index)
            lookup = {str(k): v for k, v in counts.items()}
            cnt = np.array([lookup[c] for c in cats], dtype=np.float64)
            mean = std = math.nan
        spread = std if std > 0 and math.isfinite(std) else 1.0
        return ColumnProfile(
            name, True, numeric, n, n_missing, empty, mean, std, spread,
            empty, empty, empty, cats, cnt,
        )  # fmt: skip
    full = values.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(full[~missing]).all():
        raise DataError(f"column '{name}' holds inf values: replace them with NaN or clip")
    kept = full if rows is None else full[rows]
    sample = np.sort(kept[~np.isnan(kept)])
    valid = full[~missing]
    mean = float(valid.mean())
    std = float(valid.std())
    spread = std if std > 0 else 1.0
    edges = np.unique(np.quantile(valid, np.arange(1, N_BINS) / N_BINS))
    pos = np.searchsorted(np.sort(valid), edges, side="right")
    freq = np.diff(np.concatenate([[0], pos, [n]])) / n
    if calibrate:
        null = wasserstein_null_quantiles([sample], bridges=bridges, random_state=random_state)[0]
        null = null / spread
    else:
        null = empty
    return ColumnProfile(
        name, False, True, n, n_missing, sample, mean, std, spread, edges, freq, null
    )  # fmt: skip


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
) -> ReferenceProfile:
    """Profile the training data so drift can be tested against current data alone.

    Parameters
    ----------
    X : DataFrame
        Training features (rows = samples).
    predictions : ndarray, optional
        Out-of-fold predictions: shape (n,) (class, probability or value) or (n, k)
        (class probabilities; columns ``proba_0`` ... ``proba_{k-1}``).
    labels : array-like, optional
        Training labels; categorical when ``kind == "classification"``.
    kind : {"classification", "regression"}, optional
    metrics : mapping, optional
        Out-of-fold metrics to keep beside the profile.
    max_rows : int or None, default 20_000
        Rows kept (uniformly at random, the same rows for every column) in the sorted
        samples that KS and Wasserstein use; None keeps every row. Bin frequencies,
        moments and category counts always use every row.
    random_state : int, default 0
        Seeds the row sample and the null simulation.
    categorical : mapping of column name to bool, optional
        Overrides :func:`is_categorical` per column.

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
        "random_state": random_state,
        "bridges": simulate_bridges(random_state),
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
    features, preds, label_profile = _calibrate(features, preds, label_profile, common["bridges"])
    return ReferenceProfile(
        features=features,
        predictions=preds,
        labels=label_profile,
        kind=kind,
        metrics={str(k): float(v) for k, v in (metrics or {}).items()},
        n_rows=n,
        max_rows=max_rows,
        random_state=random_state,
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
