"""Calibrated drift tests of features, predictions and labels against a reference profile.

A column is flagged only when both hold:

1. its adjusted p-value (adjusted over all tested columns by Benjamini-Hochberg,
   Bonferroni or not at all) is below alpha. For continuous columns the p-value is the
   smaller of the KS and the Wasserstein p-values, doubled (Bonferroni over the two): KS
   sees any change of shape, the Wasserstein distance also how far values moved, which a
   persistent feature needs (KS is bounded by 1). Categorical columns use chi-square;
2. its effect size exceeds ``effect_threshold``, the larger of a practical floor
   (``min_effect``, default 0.05 reference standard deviations) and the ``1 - alpha / k``
   quantile of the effect size's null distribution for this window size (see
   :mod:`mltrainer.monitor._calibration`). The effect is the Wasserstein-1 distance
   divided by the reference standard deviation for continuous columns and PSI for
   categorical ones (floor ``min_effect ** 2``: a shift of d standard deviations of a
   normal gives PSI of about d squared).

Every null law is that of a window of ``m / tau`` independent rows against ``n / tau``,
``tau`` being the column's design effect for windows of m consecutive rows, measured on
the reference's own history (:mod:`mltrainer.monitor._dependence`): a flag means the
window differs from the reference by more than windows of the same size within the
reference's history did, not merely more than shuffled rows would. ``calibration="rows"``
sets ``tau = 1`` (independent rows, the row-permutation calibration).

So a large window does not flag a shift too small to matter, a small window does not flag
what noise alone produces, and an autocorrelated feature does not flag its own regimes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from mltrainer.exceptions import ConfigError, DataError, did_you_mean
from mltrainer.monitor._frames import label_series, prediction_frame
from mltrainer.monitor._profile import ColumnProfile, ReferenceProfile, build_profile
from mltrainer.monitor._window_stats import categorical_stats, continuous_stats

__all__ = [
    "CALIBRATIONS",
    "CORRECTIONS",
    "DEFAULT_MIN_EFFECT",
    "DriftReport",
    "feature_drift",
    "label_drift",
    "prediction_drift",
]

CALIBRATIONS = ("time", "rows")
CORRECTIONS = ("fdr_bh", "bonferroni", "none")
DEFAULT_MIN_EFFECT = 0.05
"""Default practical floor of the effect: 0.05 reference standard deviations."""

COLUMNS = [
    "test",
    "statistic",
    "p_value",
    "p_adjusted",
    "psi",
    "wasserstein",
    "effect",
    "effect_threshold",
    "n_current",
    "design_effect",
    "drifted",
]


@dataclass(frozen=True, eq=False)
class DriftReport:
    """Per-column drift test results.

    Attributes
    ----------
    table : DataFrame
        Index: column name. Columns: ``test`` ("ks" or "chi2"), ``statistic``,
        ``p_value``, ``p_adjusted``, ``psi``, ``wasserstein`` (divided by the reference
        standard deviation; NaN for text categories), ``effect`` (wasserstein for
        continuous, psi for categorical columns), ``effect_threshold``, ``n_current``
        (non-missing current values), ``design_effect`` (the ``tau`` the null laws used:
        1 for independent rows) and ``drifted`` (bool).
    n_reference, n_current : int
        Rows in the reference and in the current window.
    alpha : float
    correction : str
    """

    table: pd.DataFrame
    n_reference: int
    n_current: int
    alpha: float
    correction: str

    @property
    def drifted(self) -> list[str]:
        """Names of the flagged columns, in table order."""
        return [str(c) for c in self.table.index[self.table["drifted"].to_numpy(dtype=bool)]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN as ``None``)."""
        rows: dict[str, dict[str, Any]] = {}
        for name, row in self.table.iterrows():
            rows[str(name)] = {k: _json(v) for k, v in row.items()}
        return {
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "alpha": self.alpha,
            "correction": self.correction,
            "drifted": self.drifted,
            "columns": rows,
        }


def _json(v: Any) -> Any:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(v) else None
    return v


def _check_options(
    alpha: float, correction: str, min_effect: float | None, calibration: str = "time"
) -> None:
    if calibration not in CALIBRATIONS:
        raise ConfigError(
            f"calibration '{calibration}' is unknown{did_you_mean(calibration, CALIBRATIONS)};"
            f" use one of {list(CALIBRATIONS)}"
        )
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha={alpha} must be in (0, 1), e.g. 0.05")
    if correction not in CORRECTIONS:
        raise ConfigError(
            f"correction '{correction}' is unknown{did_you_mean(correction, CORRECTIONS)};"
            f" use one of {list(CORRECTIONS)}"
        )
    if min_effect is not None and not (math.isfinite(min_effect) and min_effect >= 0):
        raise ConfigError(f"min_effect={min_effect} must be a finite number >= 0 (or None)")


def adjust_pvalues(p: np.ndarray, correction: str) -> np.ndarray:
    """Benjamini-Hochberg, Bonferroni or no adjustment of a vector of p-values."""
    if p.size == 0 or correction == "none":
        return p.copy()
    if correction == "bonferroni":
        return np.minimum(p * p.size, 1.0)
    return np.asarray(stats.false_discovery_control(p, method="bh"), dtype=np.float64)


def _workers(n_jobs: int | None) -> int:
    if n_jobs is None:
        return 1
    if n_jobs == -1:
        return os.cpu_count() or 1
    if n_jobs < 1:
        raise ConfigError(f"n_jobs={n_jobs} must be a positive number of threads, -1 or None")
    return int(n_jobs)


def drift_columns(
    cols: Sequence[ColumnProfile],
    current: pd.DataFrame,
    *,
    n_reference: int,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    min_effect: float | None = None,
    n_jobs: int | None = None,
    what: str = "feature",
    calibration: str = "time",
) -> DriftReport:
    """Test every profiled column in ``cols`` against the same-named column of ``current``."""
    _check_options(alpha, correction, min_effect, calibration)
    names = [c.name for c in cols]
    missing = [n for n in names if n not in current.columns]
    if missing:
        hint = did_you_mean(missing[0], [str(c) for c in current.columns])
        raise DataError(
            f"current data lack the {what}(s) {missing} that the reference has{hint}:"
            " pass every column the model was trained on"
        )
    if len(current) == 0:
        raise DataError("the current window is empty (0 rows): pass at least one row")
    floor = DEFAULT_MIN_EFFECT if min_effect is None else float(min_effect)
    level = 1.0 - alpha / len(cols)  # no column's effect exceeds it under no drift, w.p. 1-alpha
    continuous = [c for c in cols if not c.categorical]
    for c in continuous:
        dtype = current[c.name].dtype
        if not pd.api.types.is_numeric_dtype(dtype):
            raise DataError(
                f"{what} '{c.name}' is {dtype} in the current window but numeric in the"
                " reference: convert it to numbers"
            )
    results: dict[str, dict[str, Any]] = {}
    if continuous:
        workers = _workers(n_jobs)
        stats_rows = continuous_stats(continuous, current, level, floor, workers, calibration)
        for c, r in zip(continuous, stats_rows, strict=True):
            results[c.name] = r
    for c in cols:
        if c.categorical:
            results[c.name] = categorical_stats(c, current[c.name], level, floor, calibration)
    table = pd.DataFrame([results[n] for n in names], index=pd.Index(names, name=what))
    table = table.reindex(columns=[k for k in COLUMNS if k != "p_adjusted" and k != "drifted"])
    p_adj = adjust_pvalues(table["p_value"].to_numpy(dtype=np.float64), correction)
    table.insert(3, "p_adjusted", p_adj)
    effect = table["effect"].to_numpy(dtype=np.float64)
    threshold = table["effect_threshold"].to_numpy(dtype=np.float64)
    table["drifted"] = (p_adj < alpha) & (effect > threshold)
    return DriftReport(table, int(n_reference), len(current), float(alpha), correction)


def feature_drift(
    reference: pd.DataFrame | ReferenceProfile,
    current: pd.DataFrame,
    *,
    alpha: float = 0.05,
    correction: Literal["fdr_bh", "bonferroni", "none"] = "fdr_bh",
    min_effect: float | None = None,
    features: Sequence[str] | None = None,
    n_jobs: int | None = None,
    calibration: Literal["time", "rows"] = "time",
) -> DriftReport:
    """Which features of ``current`` drifted from the reference, with calibrated flags.

    Parameters
    ----------
    reference : DataFrame or ReferenceProfile
        Training features in time order, or their profile (:func:`build_profile`); pass
        a profile to reuse it across windows. A frame is profiled with every row, and
        only with what this call needs (design effects at this window's size, no sketch).
    current : DataFrame
        The window to test; must hold every reference feature (extra columns are ignored).
    alpha : float, default 0.05
        Level of the tests after correction, and ``1 - alpha`` is the null quantile that
        calibrates the effect threshold.
    correction : {"fdr_bh", "bonferroni", "none"}, default "fdr_bh"
    min_effect : float, optional
        Practical floor of the effect, in reference standard deviations of Wasserstein
        distance (PSI floor: its square). Default :data:`DEFAULT_MIN_EFFECT` (0.05).
    features : sequence of str, optional
        Test only these features.
    n_jobs : int, optional
        Threads over continuous features (NumPy's sort and ``searchsorted`` release the
        GIL); None = 1, -1 = every core.
    calibration : {"time", "rows"}, default "time"
        "time": null laws of windows of consecutive rows, from each feature's design
        effect measured on the reference's history (1 where the profile has none, e.g.
        a format 1 profile). "rows": independent rows (design effect 1).

    Returns
    -------
    DriftReport

    Raises
    ------
    DataError
        A feature is missing from ``current``, holds text where numbers are expected or
        inf values, or the window is empty.
    """
    _check_options(alpha, correction, min_effect, calibration)
    if not isinstance(current, pd.DataFrame):
        raise DataError(f"current must be a pandas DataFrame, not {type(current).__name__}")
    profile = reference
    if not isinstance(profile, ReferenceProfile):
        if features is not None and isinstance(reference, pd.DataFrame):
            _check_known(features, [str(c) for c in reference.columns])
            reference = reference[list(features)]
        if len(current) == 0:
            raise DataError("the current window is empty (0 rows): pass at least one row")
        profile = build_profile(
            reference, max_rows=None, sketch_size=None, time_structure=calibration == "time",
            window_sizes=[len(current)],
        )  # fmt: skip
    names = list(features) if features is not None else profile.feature_names
    _check_known(names, profile.feature_names)
    cols = [profile.features[n] for n in names]
    return drift_columns(
        cols, current, n_reference=profile.n_rows, alpha=alpha, correction=correction,
        min_effect=min_effect, n_jobs=n_jobs, calibration=calibration,
    )  # fmt: skip


def _check_known(names: Sequence[str], known: Sequence[str]) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DataError(
            f"features {unknown} are not in the reference{did_you_mean(unknown[0], known)}:"
            " pick names the model was trained on"
        )


def prediction_drift(
    profile: ReferenceProfile, predictions: Any, *, alpha: float = 0.05, **kwargs: Any
) -> DriftReport:
    """Drift of model outputs against the profile's out-of-fold predictions.

    ``predictions`` has the shape given to :func:`build_profile`: (n,) or (n, k).
    Other keywords as :func:`feature_drift`.
    """
    if not profile.predictions:
        raise DataError("the profile holds no predictions: build it with predictions=...")
    frame = prediction_frame(predictions)
    cols = list(profile.predictions.values())
    return drift_columns(
        cols, frame, n_reference=profile.n_rows, alpha=alpha, what="prediction", **kwargs
    )


def label_drift(
    profile: ReferenceProfile, labels: Any, *, alpha: float = 0.05, **kwargs: Any
) -> DriftReport:
    """Drift of realised labels against the profile's training labels (one row: ``label``).

    Other keywords as :func:`feature_drift`.
    """
    if profile.labels is None:
        raise DataError("the profile holds no labels: build it with labels=...")
    frame = label_series(labels).to_frame()
    return drift_columns(
        [profile.labels], frame, n_reference=profile.n_rows, alpha=alpha, what="label", **kwargs
    )
