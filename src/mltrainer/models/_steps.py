"""The one place that looks inside a scikit-learn ``Pipeline``: preprocessing vs final model."""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

__all__ = ["final_estimator", "final_step_name", "preprocessing_steps"]


def final_estimator(estimator: Any) -> Any:
    """The model at the end of ``estimator``: the last step of a Pipeline, else itself.

    Nested pipelines are unwrapped to their innermost final step.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.preprocessing import StandardScaler
    >>> final_estimator(Pipeline([("scale", StandardScaler()), ("model", Ridge())]))
    Ridge()
    """
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def final_step_name(estimator: Any) -> str | None:
    """The ``step__param`` prefix that routes a fit parameter to the final model, or None.

    ``Pipeline([("scale", ...), ("model", Ridge())])`` gives ``"model"``; a nested pipeline
    gives ``"outer__inner"``; a plain estimator gives None.
    """
    names: list[str] = []
    while isinstance(estimator, Pipeline):
        name, estimator = estimator.steps[-1]
        names.append(name)
    return "__".join(names) if names else None


def preprocessing_steps(estimator: Any) -> list[tuple[str, Any]]:
    """The ``(name, transformer)`` steps that run before the final model (empty when none).

    Nested pipelines contribute their own leading steps, outermost first.
    """
    steps: list[tuple[str, Any]] = []
    while isinstance(estimator, Pipeline):
        steps.extend(estimator.steps[:-1])
        estimator = estimator.steps[-1][1]
    return steps
