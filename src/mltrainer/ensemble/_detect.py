"""Fitting the regime rules on training rows; evaluating them is in ``mltrainer.models``.

Each function returns the ``regime`` part of a :class:`~mltrainer.models.RegimeComposite`
spec, fitted on the rows it is given (a training fold) only. Regimes are numbered in a
stable order: by the volatility column (quantiles), by the first column's mean (mixture),
by variance (Markov switching), so regime 0 is the calmest.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from mltrainer.exceptions import ConfigError

__all__ = ["fit_regime_rule"]


def _standardise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    center = values.mean(axis=0)
    scale = values.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return center, scale


def _volatility(values: np.ndarray, n_regimes: int) -> dict[str, Any]:
    quantiles = np.arange(1, n_regimes) / n_regimes
    return {"thresholds": np.quantile(values[:, 0], quantiles).tolist()}


def _gmm(values: np.ndarray, n_regimes: int, random_state: int | None) -> dict[str, Any]:
    from sklearn.mixture import GaussianMixture

    center, scale = _standardise(values)
    z = (values - center) / scale
    mixture = GaussianMixture(
        n_components=n_regimes,
        covariance_type="full",
        n_init=3,
        reg_covar=1e-6,
        random_state=random_state,
    ).fit(z)
    order = np.argsort(mixture.means_[:, 0], kind="stable")
    return {
        "center": center.tolist(),
        "scale": scale.tolist(),
        "weights": mixture.weights_[order].tolist(),
        "means": mixture.means_[order].tolist(),
        "covariances": mixture.covariances_[order].tolist(),
        "converged": bool(mixture.converged_),
    }


def _markov(values: np.ndarray, n_regimes: int) -> dict[str, Any]:
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    center, scale = _standardise(values[:, :1])
    z = (values[:, 0] - center[0]) / scale[0]
    model = MarkovRegression(z, k_regimes=n_regimes, trend="c", switching_variance=True)
    with warnings.catch_warnings():  # convergence is recorded in the rule instead
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = model.fit(disp=False)
    params = np.asarray(result.params, dtype=float)
    if not np.all(np.isfinite(params)):
        raise ConfigError(
            "the Markov-switching regime model did not converge on the training rows: use "
            "method volatility or gmm, fewer regimes, or a longer training window"
        )
    names = list(model.param_names)
    variances = np.array([params[names.index(f"sigma2[{k}]")] for k in range(n_regimes)])
    return {
        "center": float(center[0]),
        "scale": float(scale[0]),
        "params": params.tolist(),
        "order": np.argsort(variances, kind="stable").tolist(),
        "converged": bool(result.mle_retvals.get("converged", False)),
    }


def fit_regime_rule(
    method: str,
    values: np.ndarray,
    *,
    columns: list[Any],
    n_regimes: int,
    min_dwell: int,
    soft: bool,
    random_state: int | None = None,
) -> dict[str, Any]:
    """Fit a regime rule on training rows (in time order).

    Parameters
    ----------
    method : {"volatility", "gmm", "markov"}
    values : ndarray of shape (n, n_columns)
        The rule's columns on the training rows.
    columns : list
        Their names (frames) or positions (arrays), stored in the rule.
    n_regimes, min_dwell : int
    soft : bool
    random_state : int, optional
        Seed of the Gaussian mixture.

    Returns
    -------
    dict
        The ``regime`` spec of a :class:`~mltrainer.models.RegimeComposite`.

    Raises
    ------
    ConfigError
        For an unknown method, non-finite values, too few rows, or a Markov fit that fails.
    """
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        raise ConfigError(f"regime columns {columns} hold NaN or inf values; clean them first")
    if values.shape[0] < 2 * n_regimes:
        raise ConfigError(
            f"{values.shape[0]} rows cannot fit {n_regimes} regimes: use more rows or fewer "
            "regimes (model.regime.n_regimes)"
        )
    if method == "volatility":
        fitted = _volatility(values, n_regimes)
    elif method == "gmm":
        fitted = _gmm(values, n_regimes, random_state)
    elif method == "markov":
        fitted = _markov(values, n_regimes)
    else:
        raise ConfigError(f"regime method {method!r} is not volatility, gmm or markov")
    return {
        "method": method,
        "columns": list(columns),
        "n_regimes": int(n_regimes),
        "min_dwell": int(min_dwell),
        "soft": bool(soft),
        **fitted,
    }
