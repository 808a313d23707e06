"""The fitted regime switcher: a causal regime rule and per-regime members, predict-only.

The regime at row t is computed from rows up to t only:

- ``volatility``: one column cut by thresholds (quantiles fitted on the training rows);
  row t alone decides;
- ``gmm``: a Gaussian mixture's posterior for row t alone (parameters fitted on the
  training rows, evaluated here in closed form);
- ``markov``: a Markov-switching model's *filtered* probabilities P(S_t | y_1..y_t), the
  Hamilton filter run forward over the rows given (never the smoothed P(S_t | y_1..y_T)).

``min_dwell`` hysteresis then keeps the current regime until a new one has held for
``min_dwell`` rows in a row; it too reads only earlier rows. Rows are taken in the order
given (one series in time order). ``soft`` mixes the regimes' outputs by their
probabilities instead of switching.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from mltrainer.exceptions import ConfigError
from mltrainer.models._members import PrefitComposite

__all__ = [
    "REGIME_METHODS",
    "RegimeComposite",
    "dwell",
    "regime_probabilities",
    "regime_values",
]

#: The regime rules a regime composite's spec can hold.
REGIME_METHODS = ("volatility", "gmm", "markov")


def dwell(raw: np.ndarray, min_dwell: int) -> np.ndarray:
    """Hysteresis: switch to a new regime only once it has held ``min_dwell`` rows in a row.

    The first row starts in its own regime. Row t depends on rows 0..t only, and the
    whole pass is vectorised (runs of equal regimes, then a forward fill of the rows that
    confirm a switch).

    Examples
    --------
    >>> dwell(np.array([0, 0, 1, 0, 1, 1, 1, 0]), 3).tolist()
    [0, 0, 0, 0, 0, 0, 1, 1]
    """
    raw = np.asarray(raw, dtype=np.intp)
    if min_dwell <= 1 or raw.size == 0:
        return raw
    n = raw.size
    change = np.ones(n, dtype=bool)
    change[1:] = raw[1:] != raw[:-1]
    starts = np.flatnonzero(change)
    run = np.cumsum(change) - 1
    held = np.arange(n) - starts[run] + 1
    confirmed = held >= min_dwell
    confirmed[0] = True
    last = np.maximum.accumulate(np.where(confirmed, np.arange(n), 0))
    return raw[last]


def _gmm_log_density(
    z: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> np.ndarray:
    from scipy.linalg import solve_triangular

    n, p = z.shape
    out = np.empty((n, weights.size))
    for k in range(weights.size):  # one pass per regime (a handful), vectorised over rows
        chol = np.linalg.cholesky(covariances[k])
        solved = solve_triangular(chol, (z - means[k]).T, lower=True)
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        out[:, k] = (
            np.log(weights[k]) - 0.5 * (p * math.log(2 * math.pi) + log_det)
        ) - 0.5 * np.einsum("ij,ij->j", solved, solved)
    return out


def _markov_filtered(y: np.ndarray, rule: Mapping[str, Any]) -> np.ndarray:
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    n_regimes = int(rule["n_regimes"])
    params = np.asarray(rule["params"], dtype=float)
    model = MarkovRegression(y, k_regimes=n_regimes, trend="c", switching_variance=True)
    filtered = model.filter(params).filtered_marginal_probabilities
    probabilities = np.asarray(filtered, dtype=float).reshape(len(y), n_regimes)
    return probabilities[:, np.asarray(rule["order"], dtype=np.intp)]


def regime_values(X: pd.DataFrame | np.ndarray, columns: list[Any]) -> np.ndarray:
    """The columns a regime rule reads, as a float matrix (names for frames, else positions)."""
    if isinstance(X, pd.DataFrame):
        return X[columns].to_numpy(dtype=float)
    return np.asarray(X, dtype=float)[:, np.asarray(columns, dtype=np.intp)]


def regime_probabilities(rule: Mapping[str, Any], values: np.ndarray) -> np.ndarray:
    """Each row's regime probabilities under a fitted rule (one-hot for ``volatility``).

    Parameters
    ----------
    rule : mapping
        The ``regime`` part of a :class:`RegimeComposite` spec.
    values : ndarray of shape (n, n_columns)
        The rule's columns, rows in time order.

    Returns
    -------
    ndarray of shape (n, n_regimes)
        Row t uses rows up to t only (only row t, except for ``markov``).
    """
    method = rule["method"]
    n_regimes = int(rule["n_regimes"])
    values = np.asarray(values, dtype=float)
    if method == "volatility":
        regime = np.searchsorted(np.asarray(rule["thresholds"], dtype=float), values[:, 0], "right")
        return np.eye(n_regimes)[regime]
    if method == "gmm":
        z = (values - np.asarray(rule["center"])) / np.asarray(rule["scale"])
        log_density = _gmm_log_density(
            z,
            np.asarray(rule["weights"], dtype=float),
            np.asarray(rule["means"], dtype=float),
            np.asarray(rule["covariances"], dtype=float),
        )
        log_density -= log_density.max(axis=1, keepdims=True)
        density = np.exp(log_density)
        return np.asarray(density / density.sum(axis=1, keepdims=True))
    z = (values[:, 0] - float(rule["center"])) / float(rule["scale"])
    return _markov_filtered(z, rule)


def _check_rule(rule: Any, columns: list[str] | None) -> dict[str, Any]:
    if not isinstance(rule, Mapping) or rule.get("method") not in REGIME_METHODS:
        raise ConfigError(
            f"the regime spec's rule must name a method in {REGIME_METHODS}, got {rule!r:.80}"
        )
    n = rule.get("n_regimes")
    dwell_rows = rule.get("min_dwell")
    read = rule.get("columns")
    if (
        isinstance(n, bool)
        or not isinstance(n, int)
        or n < 2
        or isinstance(dwell_rows, bool)
        or not isinstance(dwell_rows, int)
        or dwell_rows < 1
        or not isinstance(rule.get("soft"), bool)
        or not isinstance(read, list)
        or not read
    ):
        raise ConfigError(f"the regime spec's rule is malformed ({rule!r:.120}); re-save it")
    if columns is not None and not set(read) <= set(columns):
        raise ConfigError(f"the regime spec reads columns {read} that X does not have")
    method = rule["method"]
    p = len(read)
    shapes: dict[str, dict[str, tuple[int, ...] | None]] = {
        "volatility": {"thresholds": (n - 1,)},
        "gmm": {
            "center": (p,),
            "scale": (p,),
            "weights": (n,),
            "means": (n, p),
            "covariances": (n, p, p),
        },
        "markov": {"params": None, "order": (n,), "center": (), "scale": ()},
    }
    for key, shape in shapes[method].items():
        array = np.asarray(rule.get(key), dtype=float)
        if (shape is not None and array.shape != shape) or not np.all(np.isfinite(array)):
            raise ConfigError(f"the regime spec's {method} {key} is malformed; re-save it")
    if method == "markov" and sorted(rule["order"]) != list(range(n)):
        raise ConfigError("the regime spec's markov order is not a permutation; re-save it")
    return dict(rule)


class RegimeComposite(PrefitComposite):
    """Per-regime members switched (or mixed) by a causal regime rule, predict-only.

    Each regime r has a list of members (``assignment[r]``) whose outputs are averaged
    with equal weights; a regime that had too few training rows is assigned the fallback
    member (fitted on every training row), and ``fallbacks`` records which.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The fitted members by name (e.g. ``r0-xgb``, ``r1-xgb``, ``fallback-xgb``).
    spec : dict
        As :meth:`composite_spec` returns it.

    Attributes
    ----------
    rule_ : dict
        The regime rule (method, columns, n_regimes, min_dwell, soft and its numbers).
    assignment_ : list of list of str
        The members of each regime.
    fallbacks_ : list of int
        The regimes that use the fallback member.
    """

    composite_kind: ClassVar[str] = "regime"

    def _build_combiner(self, spec: Mapping[str, Any]) -> None:
        columns = getattr(self, "feature_names_in_", None)
        names = None if columns is None else [str(c) for c in columns]
        rule = _check_rule(spec.get("regime"), names)
        if names is None and not all(isinstance(c, int) for c in rule["columns"]):
            raise ConfigError("the regime spec reads columns by name but X had no names")
        assignment = spec.get("assignment")
        fallbacks = spec.get("fallbacks", [])
        if (
            not isinstance(assignment, list)
            or len(assignment) != rule["n_regimes"]
            or not all(isinstance(a, list) and a for a in assignment)
            or {m for a in assignment for m in a} != set(self.named_estimators_)
        ):
            raise ConfigError(
                "the regime spec's assignment must list the members of every regime and use "
                f"every member {list(self.named_estimators_)}; re-save the model"
            )
        if not isinstance(fallbacks, list) or not set(fallbacks) <= set(range(len(assignment))):
            raise ConfigError("the regime spec's fallbacks must be regime numbers")
        self.rule_ = rule
        self.assignment_ = [list(a) for a in assignment]
        self.fallbacks_ = [int(r) for r in fallbacks]

    # -- regimes ----------------------------------------------------------------------------

    def regime_probabilities(self, X: Any) -> np.ndarray:
        """Each row's regime probabilities, rows in time order (see the module docstring).

        Returns
        -------
        ndarray of shape (n_samples, n_regimes)
        """
        data = self._data(X)
        return regime_probabilities(self.rule_, regime_values(data, self.rule_["columns"]))

    def regimes(self, X: Any) -> np.ndarray:
        """The regime of each row after ``min_dwell`` hysteresis (the decision record's regime).

        Returns
        -------
        ndarray of int, shape (n_samples,)
        """
        raw = np.argmax(self.regime_probabilities(X), axis=1)
        return dwell(raw, int(self.rule_["min_dwell"]))

    def _regime_output(self, regime: int, data: pd.DataFrame | np.ndarray) -> np.ndarray:
        members = self.assignment_[regime]
        total = self._output(members[0], data)
        for name in members[1:]:
            total = total + self._output(name, data)
        return total / len(members)

    def _combined(self, X: Any) -> np.ndarray:
        data = self._data(X)
        probabilities = regime_probabilities(self.rule_, regime_values(data, self.rule_["columns"]))
        n = probabilities.shape[0]
        width = len(self.classes_) if self.task_ == "classifier" else 0
        out = np.zeros((n, width) if width else n)
        if self.rule_["soft"]:
            for r in range(probabilities.shape[1]):
                weight = probabilities[:, r]
                output = self._regime_output(r, data)
                out += (weight[:, None] * output) if width else weight * output
            return out
        regime = dwell(np.argmax(probabilities, axis=1), int(self.rule_["min_dwell"]))
        for r in np.unique(regime):
            rows = np.flatnonzero(regime == r)
            part = data.iloc[rows] if isinstance(data, pd.DataFrame) else data[rows]
            out[rows] = self._regime_output(int(r), part)
        return out

    # -- the spec -----------------------------------------------------------------------------

    def composite_spec(self) -> dict[str, Any]:
        """Members' columns, task, classes, the regime rule, assignment and fallbacks."""
        check_is_fitted(self, "rule_")
        spec = self._base_spec()
        spec["regime"] = {
            key: value.tolist() if isinstance(value, np.ndarray) else value
            for key, value in self.rule_.items()
        }
        spec["assignment"] = [list(a) for a in self.assignment_]
        spec["fallbacks"] = list(self.fallbacks_)
        return spec
