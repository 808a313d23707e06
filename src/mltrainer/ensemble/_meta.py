"""Fitting a stack's meta model on out-of-fold member outputs.

``weights`` solves for non-negative weights summing to 1 that minimise the (weighted) log
loss of the mixed probabilities (classifiers) or the squared error of the mixed predictions
(regressors) with SLSQP: both problems are convex, so the solution is the global optimum
and does not depend on the start. ``logistic`` and ``ridge`` are scikit-learn's models on
standardised inputs; their coefficients are exported to the spec JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mltrainer.exceptions import ConfigError

__all__ = ["fit_linear_meta", "fit_weights"]

_EPS = 1e-15


def fit_weights(
    outputs: Sequence[np.ndarray],
    y: np.ndarray,
    *,
    task: str,
    classes: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Non-negative weights summing to 1 that best mix the members' out-of-fold outputs.

    Parameters
    ----------
    outputs : sequence of ndarray
        Per member: probabilities of shape (n, K) (classifiers, columns as ``classes``) or
        predictions of shape (n,) (regressors).
    y : ndarray of shape (n,)
    task : {"classifier", "regressor"}
    classes : ndarray, optional
        The class labels of the probability columns (classifiers).
    sample_weight : ndarray of shape (n,), optional

    Returns
    -------
    ndarray of shape (n_members,)

    Examples
    --------
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> fit_weights([y, y[::-1]], y, task="regressor").round(6).tolist()
    [1.0, 0.0]
    """
    m = len(outputs)
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    weight = weight / weight.sum()
    if m == 1:
        return np.ones(1)
    if task == "classifier":
        assert classes is not None
        column = np.searchsorted(classes, y)
        rows = np.arange(len(y))
        # the probability each member gave the true class: (n, m)
        true = np.column_stack([np.asarray(out)[rows, column] for out in outputs])

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            mixed = np.maximum(true @ w, _EPS)
            value = -float(weight @ np.log(mixed))
            return value, -(true.T @ (weight / mixed))

    else:
        F = np.column_stack([np.asarray(out, dtype=float) for out in outputs])
        target = np.asarray(y, dtype=float)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            residual = F @ w - target
            return float(weight @ residual**2), 2.0 * F.T @ (weight * residual)

    result = minimize(
        loss,
        np.full(m, 1.0 / m),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(m)}],
        options={"maxiter": 500, "ftol": 1e-12},
    )
    weights = np.asarray(result.x, dtype=float)
    weights = np.where(weights > 1e-10, weights, 0.0)  # SLSQP leaves round-off at the bound
    if not np.isfinite(weights).all() or weights.sum() <= 0:
        return np.full(m, 1.0 / m)
    return weights / weights.sum()


def fit_linear_meta(
    kind: str,
    inputs: np.ndarray,
    y: np.ndarray,
    *,
    params: Mapping[str, Any] | None = None,
    sample_weight: np.ndarray | None = None,
    random_state: int | None = None,
) -> dict[str, Any]:
    """Fit a standardised logistic or ridge meta model; return its spec numbers.

    Returns
    -------
    dict
        ``center``, ``scale`` (the standardisation), ``coef`` (rows x inputs) and
        ``intercept``, as :class:`~mltrainer.models.StackingComposite` reads them.

    Raises
    ------
    ConfigError
        For a meta parameter the scikit-learn model does not take.
    """
    options = dict(params or {})
    if kind == "logistic":
        options.setdefault("max_iter", 1000)
        if random_state is not None:
            options.setdefault("random_state", random_state)
        model: Any = LogisticRegression()
    else:
        model = Ridge()
    unknown = sorted(set(options) - set(model.get_params()))
    if unknown:
        raise ConfigError(
            f"model.meta.params: unknown parameter(s) {unknown} for the {kind} meta model; "
            f"valid: {sorted(model.get_params())}"
        )
    pipeline = Pipeline([("scale", StandardScaler()), ("meta", clone(model).set_params(**options))])
    route = {} if sample_weight is None else {"meta__sample_weight": sample_weight}
    pipeline.fit(inputs, y, **route)
    scaler, fitted = pipeline.named_steps["scale"], pipeline.named_steps["meta"]
    coef = np.atleast_2d(np.asarray(fitted.coef_, dtype=float))
    intercept = np.atleast_1d(np.asarray(fitted.intercept_, dtype=float))
    return {
        "center": np.asarray(scaler.mean_, dtype=float),
        "scale": np.asarray(scaler.scale_, dtype=float),
        "coef": coef,
        "intercept": intercept,
    }
