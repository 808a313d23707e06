"""Scorers: the task's default scorers (the first is the headline) and building them by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.metrics import check_scoring

from mltrainer.exceptions import ConfigError

__all__ = ["build_scorers", "default_scoring"]

_CLASSIFICATION = ("roc_auc", "accuracy", "neg_log_loss")
_MULTICLASS = ("roc_auc_ovr", "accuracy", "neg_log_loss")
_REGRESSION = ("r2", "neg_mean_squared_error", "neg_mean_absolute_error")


def default_scoring(task: str, n_classes: int | None = None) -> list[str]:
    """The scorers reported for a task when none is configured; the first is the headline.

    Every place that needs a default scorer (cross-validation reports, out-of-fold
    importance, tuning) takes it from here, so they all rank by the same measure.

    Parameters
    ----------
    task : {"classification", "regression"}
    n_classes : int, optional
        Classes of a classifier's label (more than two: one-vs-rest AUC).

    Examples
    --------
    >>> default_scoring("classification")
    ['roc_auc', 'accuracy', 'neg_log_loss']
    >>> default_scoring("regression")[0]
    'r2'
    """
    if task == "regression":
        return list(_REGRESSION)
    if task != "classification":
        raise ConfigError(f"task {task!r} is unknown: use 'classification' or 'regression'")
    return list(_MULTICLASS if (n_classes or 2) > 2 else _CLASSIFICATION)


def build_scorers(estimator: Any, scoring: Any) -> dict[str, Callable[..., float]]:
    """Each scorer by name: ``None`` (the estimator's ``score``), a name, a list or a dict.

    Raises
    ------
    ConfigError
        For a scoring that scikit-learn cannot build.
    """
    if isinstance(scoring, dict):
        parts = {str(k): v for k, v in scoring.items()}
    elif isinstance(scoring, list | tuple | set):
        parts = {str(v): v for v in scoring}
    else:
        parts = {scoring if isinstance(scoring, str) else "score": scoring}
    try:
        return {name: check_scoring(estimator, scoring=v) for name, v in parts.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"scoring={scoring!r} is not usable: {exc}") from None
