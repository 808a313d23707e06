"""The honest comparison: real-only vs augmented scores on the same purged folds.

Every run with augmentation cross-validates twice on identical splits, once without the
resampler and once with it, and reports both: each scorer's mean over folds, on how many
folds augmentation won, and for classifiers the pooled out-of-fold Brier score and
reliability (expected calibration error), also after recalibration when
``augment.recalibrate`` asks for it. A warning line says when augmentation did not raise
the headline score.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.augment._calibration import (
    CALIBRATION_METHODS,
    brier_score,
    cross_fitted_calibration,
    fit_calibration,
    reliability,
)
from mltrainer.cv import CVResult
from mltrainer.exceptions import DataError

__all__ = ["AugmentationReport", "compare_augmentation"]

logger = logging.getLogger("mltrainer")


def _path0(proba: pd.DataFrame | None) -> pd.DataFrame | None:
    if proba is None:
        return None
    if isinstance(proba.columns, pd.MultiIndex):
        return proba["path_0"]
    return proba


@dataclass
class AugmentationReport:
    """Real-only vs augmented (vs recalibrated) scores of one run.

    Attributes
    ----------
    method : str
        The augmentation method.
    table : DataFrame
        One row per measure (scorers: mean over folds; ``brier``, ``reliability_ece``:
        pooled out-of-fold), columns ``real``, ``augmented``, ``recalibrated`` (NaN
        where not applicable), ``delta`` (augmented - real) and ``folds_better``.
    headline : str
        The first scorer.
    helped : bool
        Whether the augmented headline mean beats the real-only one.
    warning : str or None
        The warning line when it does not.
    calibration : dict or None
        The map fitted on all augmented out-of-fold probabilities (the final model's).
    note : str
        How the saved model's probabilities are calibrated.
    details : dict
        Reliability bins and synthetic row counts per fold.
    augmenter : object
        The resampler; its ``metadata()`` (a GAN's gates) joins :meth:`metadata`.
    """

    method: str
    table: pd.DataFrame
    headline: str
    helped: bool
    warning: str | None
    calibration: dict[str, Any] | None
    note: str
    details: dict[str, Any] = field(default_factory=dict)
    augmenter: Any = field(default=None, repr=False)

    def final_model(self, model: Any, X: Any, y: Any) -> Any:
        """``model`` plus the calibration map when there is one (else ``model``)."""
        if self.calibration is None:
            return model
        from sklearn.frozen import FrozenEstimator

        from mltrainer.models import CalibratedComposite

        return CalibratedComposite(FrozenEstimator(model), calibration=self.calibration).fit(X, y)

    def metadata(self) -> dict[str, Any]:
        """JSON-able summary for the model version's metadata."""
        rows = {}
        for name, row in self.table.iterrows():
            rows[str(name)] = {
                k: (None if pd.isna(v) else (int(v) if k == "folds_better" else float(v)))
                for k, v in row.items()
            }
        return {
            "method": self.method,
            "headline": self.headline,
            "helped": self.helped,
            "warning": self.warning,
            "note": self.note,
            "scores": rows,
            "calibration": self.calibration,
            **self.details,
            **self.augmenter_metadata(),
        }

    def augmenter_metadata(self) -> dict[str, Any]:
        """The augmenter's own record now (a GAN's gates include the final fit's once done)."""
        if self.augmenter is not None and hasattr(self.augmenter, "metadata"):
            return dict(self.augmenter.metadata())
        return {}


def _check_same_folds(real: CVResult, augmented: CVResult) -> None:
    columns = ["n_test", "test_start", "test_end"]
    a, b = real.folds[columns], augmented.folds[columns]
    if len(a) != len(b) or not a.reset_index(drop=True).equals(b.reset_index(drop=True)):
        raise DataError(
            "the real-only and augmented cross-validations were not run on the same folds"
        )


def compare_augmentation(
    real: CVResult,
    augmented: CVResult,
    *,
    y: pd.Series,
    t1: pd.Series,
    method: str,
    recalibrate: str = "none",
    classification: bool = True,
    augmenter: Any = None,
) -> AugmentationReport:
    """Compare two cross-validations of one plan, without and with the resampler.

    Parameters
    ----------
    real, augmented : CVResult
        The same estimator and splits, without and with augmentation.
    y, t1 : Series
        Targets (encoded classes for classifiers) and label end times of every row.
    method : str
        The augmentation method (for the report).
    recalibrate : {"none", "isotonic", "platt"}
        Fit a calibration map on the augmented out-of-fold probabilities.
    classification : bool
        Whether the label is a classification.
    augmenter : object, optional
        The resampler; its ``metadata()`` (if any) is added to the details.
    """
    _check_same_folds(real, augmented)
    scorers = [s for s in augmented.scorers if s in real.folds]
    headline = scorers[0]
    rows: dict[str, dict[str, float]] = {}
    for name in scorers:
        r, a = real.folds[name].to_numpy(float), augmented.folds[name].to_numpy(float)
        rows[name] = {
            "real": float(np.nanmean(r)),
            "augmented": float(np.nanmean(a)),
            "recalibrated": np.nan,
            "delta": float(np.nanmean(a) - np.nanmean(r)),
            "folds_better": int(np.sum(a > r)),
        }
    details: dict[str, Any] = {
        "n_synthetic": [int(v) for v in augmented.folds["n_synthetic"]],
        "n_folds": len(augmented.folds),
    }
    calibration = None
    note = ""
    p_real, p_aug = _path0(real.probabilities), _path0(augmented.probabilities)
    if classification and p_real is not None and p_aug is not None:
        tested = p_aug.notna().all(axis=1).to_numpy() & p_real.notna().all(axis=1).to_numpy()
        codes = np.asarray(y)[tested]
        variants = {
            "real": p_real.to_numpy(float)[tested],
            "augmented": p_aug.to_numpy(float)[tested],
        }
        if recalibrate in CALIBRATION_METHODS:
            index = y.index[tested]
            variants["recalibrated"] = cross_fitted_calibration(
                variants["augmented"], codes, index, t1.iloc[np.flatnonzero(tested)], recalibrate
            )
            calibration = fit_calibration(variants["augmented"], codes, recalibrate)
            note = (
                f"probabilities recalibrated ({recalibrate}) on purged out-of-fold predictions;"
                " the saved model is the classifier plus that map"
            )
        else:
            note = (
                "probabilities are not recalibrated (augment.recalibrate: none); brier and "
                "reliability_ece above say how far off they are"
            )
        brier = {k: brier_score(v, codes) for k, v in variants.items()}
        rel = {k: reliability(v, codes) for k, v in variants.items()}
        for measure, values in (
            ("brier", brier),
            ("reliability_ece", {k: v["ece"] for k, v in rel.items()}),
        ):
            rows[measure] = {
                "real": values["real"],
                "augmented": values["augmented"],
                "recalibrated": values.get("recalibrated", np.nan),
                "delta": values["augmented"] - values["real"],
                "folds_better": np.nan,
            }
        details["reliability"] = {k: v["bins"] for k, v in rel.items()}
        details["n_oof_rows"] = int(tested.sum())
    table = pd.DataFrame.from_dict(rows, orient="index")
    first = rows[headline]
    helped = first["augmented"] > first["real"]
    warning = None
    if not helped:
        warning = (
            f"augmentation ({method}) did not help: {headline} {first['real']:.4f} real-only vs"
            f" {first['augmented']:.4f} augmented (better on {first['folds_better']} of "
            f"{len(augmented.folds)} folds)"
        )
        logger.warning(warning)
    return AugmentationReport(
        method=method,
        table=table,
        headline=headline,
        helped=helped,
        warning=warning,
        calibration=calibration,
        note=note,
        details=details,
        augmenter=augmenter,
    )
