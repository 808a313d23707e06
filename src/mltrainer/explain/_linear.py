"""Exact attributions of linear models in closed form, through their scalers.

For a linear model on standardised inputs ``z = (x - c) / s`` with coefficients ``w`` and
intercept ``b``, the SHAP value of feature ``j`` (features independent, reference = the
training mean) is ``w_j (z_j - E[z_j])``, which is ``(w_j / s_j) (x_j - E[x_j])`` in the
input's units: ``shap.LinearExplainer`` computes exactly this. The base value is
``b + w . E[z]``; with a centring scaler ``E[z] = 0`` over the training rows, so it is ``b``.
A classifier is explained in margin space (``decision_function``: the log-odds, or one
logit per class), a regressor in raw space (``predict``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError
from mltrainer.explain._explanation import Explanation
from mltrainer.explain._target import Target, as_input

__all__ = ["LinearMethod", "is_linear"]


def is_linear(final: Any) -> bool:
    """Whether ``final`` is a scikit-learn linear model ``x . coef_ + intercept_``.

    Generalised linear models with a log link (Poisson, Gamma, Tweedie) are not: their
    prediction is ``exp`` of the linear predictor.
    """
    module = type(final).__module__
    return (
        module.startswith("sklearn.linear_model")
        and "_glm" not in module
        and hasattr(final, "coef_")
        and hasattr(final, "intercept_")
    )


class LinearMethod:
    """Closed-form SHAP of a linear model (built once, reused for every call).

    Parameters
    ----------
    target : Target
        A linear model whose preprocessing is column selection and standard scaling.
    means : ndarray, optional
        Training means of ``target.feature_names``: the reference when no scaler centres
        the inputs (a centring scaler already holds the training mean).

    Raises
    ------
    ConfigError
        When there is no centring scaler and no training means.
    """

    name = "linear"

    def __init__(self, target: Target, *, means: np.ndarray | None = None) -> None:
        assert target.seen is not None
        self.target = target
        final = target.final
        coef = np.atleast_2d(np.asarray(final.coef_, dtype=np.float64))
        intercept = np.broadcast_to(
            np.atleast_1d(np.asarray(final.intercept_, dtype=np.float64)), (coef.shape[0],)
        )
        center, scale, centred = target.scaling()
        if centred:
            reference_z = np.zeros(coef.shape[1])
        elif means is not None:
            reference_z = (np.asarray(means, dtype=np.float64)[target.seen] - center) / scale
        else:
            raise ConfigError(
                f"linear attributions of {type(final).__name__} need the training mean of "
                "each feature (its inputs are not centred by a StandardScaler): explain a "
                "registered version (its statistics are saved) or pass background="
            )
        self.weights = coef / scale  # per unit of the input feature
        self.reference = center + scale * reference_z  # the training mean, in input units
        self.base = intercept + coef @ reference_z
        self.space = "margin" if target.task == "classification" else "raw"

    def _output(self, frame: pd.DataFrame) -> np.ndarray:
        final = self.target.final
        data = as_input(final, self.target.final_input(frame), self.target.seen_names)
        if self.target.task == "classification":
            return np.asarray(final.decision_function(data), dtype=np.float64)
        return np.asarray(final.predict(data), dtype=np.float64)

    def explain(self, frame: pd.DataFrame, *, interactions: bool = False) -> Explanation:
        """Contributions of every row of ``frame`` (columns = the target's features)."""
        if interactions:
            raise ConfigError(
                "a linear model has no interactions (every interaction value is 0): "
                "explain it without interactions"
            )
        seen = self.target.seen_frame(frame).to_numpy(dtype=np.float64)
        values = (seen - self.reference)[:, :, None] * self.weights.T[None, :, :]
        n, k = seen.shape[0], self.weights.shape[0]
        return Explanation(
            contributions=values,
            base=np.broadcast_to(self.base, (n, k)).copy(),
            output=self._output(frame).reshape(n, k),
            space=self.space,
            outputs=self.target.outputs,
            feature_names=self.target.seen_names,
            data=self.target.seen_frame(frame),
            method=self.name,
        )
