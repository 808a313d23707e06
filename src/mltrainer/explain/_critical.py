"""Which decisions are critical: the ``explain.critical`` rule applied to predictions.

The rule is configuration (:class:`~mltrainer.config.CriticalConfig`); this module only
evaluates it, vectorised over a prediction frame, and says which conditions each critical
decision met.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.config import CriticalConfig
from mltrainer.exceptions import ConfigError
from mltrainer.explain._target import class_label

__all__ = ["critical_decisions", "proba_columns_of", "signal"]


def proba_columns_of(classes: Sequence[Any]) -> list[str]:
    """The ``proba_<class>`` columns of ``predict_bars`` for these class labels."""
    return [f"proba_{class_label(value)}" for value in classes]


def signal(predictions: pd.DataFrame, classes: Sequence[Any] | None) -> np.ndarray:
    """The signal of each decision: the regression prediction; for classifiers ``2 p - 1``
    (binary, ``p`` = positive class) or the probability-weighted mean label (multi-class)."""
    if not classes:
        return predictions["prediction"].to_numpy(dtype=float)
    proba = predictions[proba_columns_of(classes)].to_numpy(dtype=float)
    if len(classes) == 2:
        return np.asarray(2.0 * proba[:, 1] - 1.0)
    return np.asarray(proba @ np.asarray(classes, dtype=float))


def _every_n(predictions: pd.DataFrame, n: int) -> np.ndarray:
    if "symbol" not in predictions.columns:
        return np.asarray(np.arange(len(predictions)) % n == 0)
    position = predictions.groupby("symbol", sort=False).cumcount().to_numpy()
    return np.asarray(position % n == 0)


def critical_decisions(
    predictions: pd.DataFrame,
    rule: CriticalConfig | dict[str, Any],
    *,
    classes: Sequence[Any] | None,
    signal_threshold: float | None = None,
) -> tuple[np.ndarray, list[list[str]]]:
    """The critical rows of ``predictions`` and the conditions each met.

    Parameters
    ----------
    predictions : DataFrame
        From :func:`mltrainer.predict_bars`: ``prediction``, ``proba_<class>`` columns for
        classifiers, ``symbol`` for panels.
    rule : CriticalConfig or dict
        The ``explain.critical`` rule.
    classes : sequence or None
        The label's classes (None for regressors).
    signal_threshold : float, optional
        The ``|signal|`` of the rule's ``top_quantile`` on the training signals (required
        by that condition).

    Returns
    -------
    mask : ndarray of bool
    reasons : list of list of str
        For every row (empty for rows that are not critical).

    Raises
    ------
    ConfigError
        For ``probability_above`` on a regressor, or ``top_quantile`` without a threshold.
    """
    if not isinstance(rule, CriticalConfig):
        rule = CriticalConfig.model_validate(rule)
    n = len(predictions)
    conditions: list[tuple[np.ndarray, Any]] = []
    strength = np.abs(signal(predictions, classes))
    if rule.probability_above is not None:
        if not classes:
            raise ConfigError(
                "explain.critical.probability_above needs a classifier; this model is a "
                "regressor: use signal_above or top_quantile"
            )
        top = predictions[proba_columns_of(classes)].to_numpy(dtype=float).max(axis=1)
        conditions.append(
            (top >= rule.probability_above, lambda i, t=top: f"probability {t[i]:.4g} >= "
             f"{rule.probability_above:g}")
        )  # fmt: skip
    if rule.signal_above is not None:
        conditions.append(
            (strength >= rule.signal_above,
             lambda i: f"|signal| {strength[i]:.4g} >= {rule.signal_above:g}")
        )  # fmt: skip
    if rule.top_quantile is not None:
        if signal_threshold is None:
            raise ConfigError(
                "explain.critical.top_quantile needs the training signals saved with the "
                "version (explain_stats.json); retrain the model with `mltrainer train`"
            )
        conditions.append(
            (strength >= signal_threshold,
             lambda i: f"|signal| {strength[i]:.4g} in the top {rule.top_quantile:.4g} of "
             f"training (>= {signal_threshold:.4g})")
        )  # fmt: skip
    if rule.every_n is not None:
        conditions.append(
            (
                _every_n(predictions, rule.every_n),
                lambda i: f"one of every {rule.every_n} decisions",
            )
        )
    if rule.symbols:
        if "symbol" in predictions.columns:
            named = predictions["symbol"].astype(str).isin(set(rule.symbols)).to_numpy()
        else:
            named = np.zeros(n, dtype=bool)
        conditions.append((named, lambda i: f"symbol {predictions['symbol'].iloc[i]}"))
    mask = np.zeros(n, dtype=bool)
    for hit, _ in conditions:
        mask |= np.asarray(hit, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(n)]
    for i in np.flatnonzero(mask):
        reasons[i] = [describe(i) for hit, describe in conditions if hit[i]]
    return mask, reasons
