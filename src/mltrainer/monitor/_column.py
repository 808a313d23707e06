"""One column of the reference profile: its statistics, and how they are computed.

:func:`profile_column` turns one training column into a :class:`ColumnProfile`: for a
continuous column a sorted sample (a quantile sketch when long), moments, PSI deciles and
the null quantiles of the Wasserstein distance; for a categorical one the category counts;
for both the design effects of windows of consecutive rows in time order
(:mod:`mltrainer.monitor._dependence`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import DataError
from mltrainer.monitor._calibration import wasserstein_null_quantiles
from mltrainer.monitor._dependence import MIN_WINDOWS, design_effects, effect_at, window_sizes

__all__ = [
    "DEFAULT_SKETCH",
    "MAX_CATEGORIES",
    "N_BINS",
    "ColumnProfile",
    "is_categorical",
    "profile_column",
]

DEFAULT_SKETCH = 2_048
"""Sorted values kept per continuous column: a longer sample keeps this many evenly spaced
order statistics, whose distribution function is within about 1/2,048 of the sample's."""

_DIGITS = 7  # significant digits of sketched values (float32 precision)

MAX_CATEGORIES = 20
"""An integer-valued numeric column with at most this many distinct values is categorical."""

N_BINS = 10
"""PSI bins for continuous columns: the reference's deciles."""


def is_categorical(values: pd.Series) -> bool:
    """The categorical rule: non-numeric (text, category, bool) or few distinct integers.

    A numeric column is categorical when every finite value is an integer and it takes at
    most :data:`MAX_CATEGORIES` distinct values (e.g. ``day_of_week``, ``month``).
    """
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return True
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    head = arr[:1_000]
    head = head[np.isfinite(head)]
    if not np.array_equal(head, np.round(head)):  # most continuous columns stop here
        return False
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
        Sorted non-missing values of the (at most ``max_rows``) sampled rows, or, when
        there are more than ``sketch_size`` of them, that many evenly spaced order
        statistics; rounded to 7 significant digits unless built with
        ``sketch_size=None``; empty for categorical columns.
    mean, std, spread : float
        Reference moments; ``spread`` (std, else 1) scales the Wasserstein distance.
    bin_edges, bin_freq : ndarray
        Interior PSI bin edges (reference deciles) and the reference's bin frequencies.
    null_w1 : ndarray
        Quantiles at :data:`NULL_LEVELS` of the size-free null distribution of the
        spread-scaled Wasserstein distance (multiply by ``sqrt(1/n + 1/m)``).
    categories, counts : list, ndarray
        Categories (sorted) and their reference counts, for categorical columns.
    n_sample : int
        Values the sorted sample stands for (its own length unless sketched; 0 = length).
    window_sizes, design_effect : ndarray
        Window sizes (rows) and the column's design effect at each: how many times more
        a window of that many consecutive reference rows varies than independent rows
        would (:mod:`mltrainer.monitor._dependence`; NaN where the column is constant).
        Empty when measured without time order (independent rows assumed).
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
    n_sample: int = 0
    window_sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    design_effect: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_reference(self) -> int:
        """The reference size the tests use: the values behind the sorted sample."""
        return int(self.n_sample or self.sample.size)

    def tau(self, m: np.ndarray | float) -> np.ndarray:
        """Design effect (>= 1) for windows of ``m`` rows; 1 without time structure."""
        return effect_at(self.window_sizes, self.design_effect, m)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN stored as ``None``)."""
        return {
            "name": self.name,
            "categorical": self.categorical,
            "numeric": self.numeric,
            "n": self.n,
            "n_missing": self.n_missing,
            "n_sample": self.n_reference,
            "sample": self.sample.tolist(),
            "mean": _num(self.mean),
            "std": _num(self.std),
            "spread": _num(self.spread),
            "bin_edges": self.bin_edges.tolist(),
            "bin_freq": self.bin_freq.tolist(),
            "null_w1": self.null_w1.tolist(),
            "categories": list(self.categories),
            "counts": self.counts.astype(np.int64).tolist(),
            "window_sizes": self.window_sizes.astype(np.int64).tolist(),
            "design_effect": [_num(v) for v in self.design_effect.tolist()],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColumnProfile:
        """Inverse of :meth:`to_dict` (format 1 dicts have no sketch or design effects)."""
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
            n_sample=int(d.get("n_sample") or 0),
            window_sizes=np.asarray(d.get("window_sizes") or [], dtype=np.int64),
            design_effect=np.array(
                [_float(v) for v in d.get("design_effect") or []], dtype=np.float64
            ),
        )


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _float(x: Any) -> float:
    return math.nan if x is None else float(x)


def _sketch(sorted_values: np.ndarray, size: int | None) -> np.ndarray:
    """At most ``size`` evenly spaced order statistics, rounded to 7 significant digits
    (float32 precision, short in JSON); all values unrounded when ``size`` is None."""
    n = sorted_values.size
    if size is None:
        return sorted_values
    picked = sorted_values
    if n > size:
        picked = sorted_values[np.round(np.linspace(0, n - 1, size)).astype(np.int64)]
    return np.array([float(f"{v:.{_DIGITS}g}") for v in picked.tolist()], dtype=np.float64)


def _sizes(n: int, requested: Sequence[int] | None) -> np.ndarray:
    """Window sizes to measure on ``n`` values: the default grid, or the requested sizes
    clipped to ``n // MIN_WINDOWS`` (the largest size with enough windows), plus a size at
    most a quarter of it when a request was clipped (so a longer window can be
    extrapolated)."""
    if requested is None:
        return window_sizes(n)
    top = n // MIN_WINDOWS
    if top < 2:
        return np.zeros(0, dtype=np.int64)
    asked = np.asarray(requested, dtype=np.int64)
    if (asked > top).any() and top >= 8:
        asked = np.append(asked, top // 4)
    return np.unique(np.clip(asked, 2, top))


def _decile_codes(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Number of ``edges`` strictly below each value (one vectorised pass per edge)."""
    codes = np.zeros(values.size, dtype=np.uint8)
    for edge in edges:
        codes += values > edge
    return codes


def _in_time_order(full: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    timed = full if order is None else full[order]
    return timed[~np.isnan(timed)] if np.isnan(timed).any() else timed


def _linear_quantiles(sorted_values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.quantile(values, q)`` (linear method) read off already sorted values."""
    h = (sorted_values.size - 1) * q
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, sorted_values.size - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def profile_column(
    values: pd.Series,
    *,
    name: str,
    categorical: bool | None = None,
    rows: np.ndarray | None = None,
    order: np.ndarray | None = None,
    time_structure: bool = True,
    window_sizes: Sequence[int] | None = None,
    sketch_size: int | None = DEFAULT_SKETCH,
    random_state: int = 0,
    bridges: np.ndarray | None = None,
    calibrate: bool = True,
) -> ColumnProfile:
    """Profile one column.

    ``rows`` are the positions kept in the sorted sample (all if None); ``order`` the
    positions in time order (the given order if None) over which design effects are
    measured at ``window_sizes`` (the default grid if None), unless ``time_structure``
    is False; a sample longer than ``sketch_size`` is sketched; ``calibrate`` fills the
    Wasserstein null quantiles (else left empty for a later, shared computation).
    """
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
    if categorical:
        return _categorical_column(
            values, name=name, numeric=numeric, missing=missing, n=n, order=order,
            sizes=_sizes(n, window_sizes) if time_structure else None,
        )  # fmt: skip
    full = values.to_numpy(dtype=np.float64, na_value=np.nan)
    valid = full[~missing] if n_missing else full
    if not np.isfinite(valid).all():
        raise DataError(f"column '{name}' holds inf values: replace them with NaN or clip")
    ordered = np.sort(valid)
    if rows is None:
        sample = ordered
    else:
        kept = full[rows]
        sample = np.sort(kept[~np.isnan(kept)])
    mean = float(valid.mean())
    std = float(valid.std())
    spread = std if std > 0 else 1.0
    edges = np.unique(_linear_quantiles(ordered, np.arange(1, N_BINS) / N_BINS))
    pos = np.searchsorted(ordered, edges, side="right")
    freq = np.diff(np.concatenate([[0], pos, [n]])) / n
    sizes = np.zeros(0, dtype=np.int64)
    effect = np.zeros(0)
    if time_structure:
        sizes = _sizes(n, window_sizes)
        codes = _decile_codes(_in_time_order(full, order), edges)
        effect = design_effects(codes, edges.size + 1, sizes, cumulative=True)
    stored = _sketch(sample, sketch_size)
    null = np.zeros(0)
    if calibrate:
        null = wasserstein_null_quantiles([stored], bridges=bridges, random_state=random_state)
        null = null[0] / spread
    return ColumnProfile(
        name, False, True, n, n_missing, stored, mean, std, spread, edges, freq, null,
        n_sample=int(sample.size), window_sizes=sizes, design_effect=effect,
    )  # fmt: skip


def _categorical_column(
    values: pd.Series,
    *,
    name: str,
    numeric: bool,
    missing: np.ndarray,
    n: int,
    order: np.ndarray | None,
    sizes: np.ndarray | None,
) -> ColumnProfile:
    """Category counts (and design effects over the category indicators) of one column."""
    present = values[~missing]
    counts = present.value_counts(sort=False)
    if numeric:
        cats: list[Any] = sorted(float(c) for c in counts.index)
        cnt = np.array([counts[c] for c in counts.index], dtype=np.float64)
        cnt = cnt[np.argsort(np.asarray(counts.index, dtype=np.float64))]
        levels = np.asarray(cats, dtype=np.float64)
        mean = float(np.dot(levels, cnt) / n)
        std = float(np.sqrt(np.dot((levels - mean) ** 2, cnt) / n))
    else:
        cats = sorted(str(c) for c in counts.index)
        lookup = {str(k): v for k, v in counts.items()}
        cnt = np.array([lookup[c] for c in cats], dtype=np.float64)
        mean = std = math.nan
    spread = std if std > 0 and math.isfinite(std) else 1.0
    effect = np.zeros(0)
    if sizes is not None:
        timed = present if order is None else values.iloc[order][~missing[order]]
        if numeric:
            codes = np.searchsorted(levels, timed.to_numpy(dtype=np.float64))
        else:
            codes = pd.Index(cats).get_indexer(timed.astype(str).to_numpy())
        effect = design_effects(codes.astype(np.int64), len(cats), sizes, cumulative=False)
    else:
        sizes = np.zeros(0, dtype=np.int64)
    empty = np.zeros(0)
    return ColumnProfile(
        name, True, numeric, n, int(missing.sum()), empty, mean, std, spread,
        empty, empty, empty, cats, cnt, window_sizes=sizes, design_effect=effect,
    )  # fmt: skip
