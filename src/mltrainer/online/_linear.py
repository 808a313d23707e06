"""Linear models row by row: scikit-learn's SGD step in a few BLAS calls, and a folded predictor.

:class:`LinearSGD` continues a fitted ``SGDClassifier``/``SGDRegressor`` (behind its fitted
``StandardScaler``) exactly as ``partial_fit`` on one row would: the same learning-rate
schedules (``constant``, ``adaptive`` (``eta0`` within a call), ``optimal``,
``invscaling``), the same L2 weight decay applied before the step, the same loss gradients
and clipping, the same weight-scale trick. It does in ~1.5 us what ``partial_fit`` does in
~1 ms, because one row needs no input validation. :class:`LinearPredictor` folds the
scaler into the coefficients, so one prediction is one dot product.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.linalg.blas import daxpy, ddot

from mltrainer.exceptions import ConfigError

__all__ = ["LinearPredictor", "LinearSGD", "linear_parts"]

_MAX_DLOSS = 1e12
_RESET_WSCALE = 1e-9
_RATES = ("constant", "adaptive", "optimal", "invscaling")


def linear_parts(estimator: Any) -> tuple[Any, Any]:
    """Split a fitted estimator into ``(scaler or None, final linear model)``.

    Accepts a linear model, or a ``Pipeline`` whose steps before the last are at most one
    fitted ``StandardScaler``.

    Raises
    ------
    ConfigError
        For anything else (other preprocessing, a non-linear final step).
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    scaler = None
    final = estimator
    if isinstance(estimator, Pipeline):
        *steps, (_, final) = estimator.steps
        others = [type(step).__name__ for _, step in steps if not isinstance(step, StandardScaler)]
        if others or len(steps) > 1:
            raise ConfigError(
                f"a linear online model may have one StandardScaler before it, got steps "
                f"{[type(s).__name__ for _, s in steps]}; retrain with model.type sgd"
            )
        scaler = steps[0][1] if steps else None
    if not hasattr(final, "coef_"):
        raise ConfigError(f"{type(final).__name__} is not a fitted linear model (no coef_)")
    return scaler, final


def _scaler_arrays(scaler: Any, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    mean = np.zeros(n_features)
    scale = np.ones(n_features)
    if scaler is not None:
        if getattr(scaler, "mean_", None) is not None and scaler.with_mean:
            mean = np.asarray(scaler.mean_, dtype=np.float64).copy()
        if getattr(scaler, "scale_", None) is not None and scaler.with_std:
            scale = np.asarray(scaler.scale_, dtype=np.float64).copy()
    return mean, scale


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class LinearPredictor:
    """One-row predictions of a fitted linear pipeline: the scaler folded into the weights.

    ``w' = coef / scale`` and ``b' = intercept - w' . mean``, so a row costs one dot
    product (plus a sigmoid/softmax); outputs equal the library's to ~1e-12.

    Parameters
    ----------
    estimator : Pipeline or linear model
        Fitted ``LogisticRegression``, ``SGDClassifier`` (``log_loss``), ``Ridge``,
        ``SGDRegressor`` or ``LinearRegression``, optionally after a ``StandardScaler``.
    """

    def __init__(self, estimator: Any) -> None:
        scaler, final = linear_parts(estimator)
        coef = np.atleast_2d(np.asarray(final.coef_, dtype=np.float64))
        intercept = np.atleast_1d(np.asarray(final.intercept_, dtype=np.float64))
        mean, scale = _scaler_arrays(scaler, coef.shape[1])
        self.coef = np.ascontiguousarray(coef / scale)
        self.intercept = intercept - self.coef @ mean
        self.classifier = hasattr(final, "classes_")
        self.kind = "classification" if self.classifier else "regression"
        name = type(final).__name__
        if self.classifier and name == "SGDClassifier" and final.loss != "log_loss":
            raise ConfigError(
                f"SGDClassifier(loss={final.loss!r}) has no probabilities; use loss='log_loss'"
            )
        self.multinomial = self.classifier and name == "LogisticRegression"
        self._w = self.coef[0].copy()
        self._b = float(self.intercept[0])
        self._binary = self.coef.shape[0] == 1

    def predict_row(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (classifiers) or the value, as a 1-D array, for one row."""
        if self._binary:
            z = ddot(x, self._w) + self._b
            if not self.classifier:
                return np.array([z])
            p = _sigmoid(z)
            return np.array([1.0 - p, p])
        z = self.coef @ x + self.intercept
        if self.multinomial:
            e = np.exp(z - z.max())
            return np.asarray(e / e.sum())
        p = 1.0 / (1.0 + np.exp(-z))  # one-vs-rest, normalised as scikit-learn does
        total = p.sum()
        return np.asarray(p / total) if total > 0 else np.full(p.size, 1.0 / p.size)


class LinearSGD:
    """Continue a fitted SGD linear model one row (or one batch) at a time.

    Parameters
    ----------
    estimator : Pipeline or SGDClassifier / SGDRegressor
        Fitted; an optional ``StandardScaler`` before it is applied (and kept fixed: the
        weights live in the space the model was trained in).

    Notes
    -----
    :meth:`learn_one` is the step ``partial_fit`` takes for one row (same weights after
    any number of rows, to rounding). :meth:`learn_many` takes a batch as that many steps
    whose gradients are all evaluated at the batch's starting weights: one vectorised
    step whose learning rates and weight decay mean the same as row by row.
    Supported: ``loss`` ``log_loss`` (classifier) or ``squared_error`` (regressor),
    ``penalty`` ``l2`` or None, ``average=False``, ``class_weight=None``. Use
    :func:`LinearSGD.supports` first; other settings go through ``partial_fit`` itself.
    """

    def __init__(self, estimator: Any) -> None:
        problem = self.problem(estimator)
        if problem is not None:
            raise ConfigError(problem)
        scaler, final = linear_parts(estimator)
        self.template = estimator
        self.classifier = hasattr(final, "classes_")
        coef = np.atleast_2d(np.asarray(final.coef_, dtype=np.float64))
        self.n_features = coef.shape[1]
        self.mean, self.scale = _scaler_arrays(scaler, self.n_features)
        self.w = np.ascontiguousarray(coef.copy())  # (n_outputs, n_features), times wscale
        self.wscale = 1.0
        self._b = np.atleast_1d(np.asarray(final.intercept_, dtype=np.float64)).copy()
        self._b0 = float(self._b[0])  # the intercept of a single output, as a float (hot path)
        self.t = float(final.t_)
        self.alpha = float(final.alpha)
        self.decayed = final.penalty is not None
        self.learning_rate = str(final.learning_rate)
        self.eta0 = float(final.eta0)
        self.power_t = float(final.power_t)
        self.fit_intercept = bool(final.fit_intercept)
        self.n_classes = len(final.classes_) if self.classifier else 0
        self._optimal_init = 0.0
        if self.learning_rate == "optimal":
            typw = math.sqrt(1.0 / math.sqrt(self.alpha))
            gradient = self._gradient(1.0, -typw) if self.classifier else -typw - 1.0
            self._optimal_init = 1.0 / (typw / max(1.0, gradient) * self.alpha)
        self._row = np.empty(self.n_features)
        self._w0 = self.w[0]
        self._binary = self.w.shape[0] == 1
        self._scaling = bool(np.any(self.mean != 0.0) or np.any(self.scale != 1.0))
        self._constant_eta = self.learning_rate in ("constant", "adaptive")
        self._decay_factor = max(0.0, 1.0 - self.eta0 * self.alpha) if self.decayed else 1.0

    @property
    def b(self) -> np.ndarray:
        """The intercept(s), a new array."""
        return np.array([self._b0]) if self._binary else self._b.copy()

    @b.setter
    def b(self, value: np.ndarray) -> None:
        values = np.atleast_1d(np.asarray(value, dtype=np.float64))
        if self._binary:
            self._b0 = float(values[0])
        else:
            self._b[...] = values

    @staticmethod
    def problem(estimator: Any) -> str | None:
        """Why ``estimator`` cannot be continued by :class:`LinearSGD`, or None."""
        try:
            _, final = linear_parts(estimator)
        except ConfigError as exc:
            return str(exc)
        name = type(final).__name__
        if name not in ("SGDClassifier", "SGDRegressor"):
            return f"{name} has no partial_fit; LinearSGD continues SGDClassifier/SGDRegressor"
        wanted = "log_loss" if name == "SGDClassifier" else "squared_error"
        checks = [
            (final.loss == wanted, f"loss={final.loss!r} (use {wanted!r})"),
            (final.penalty in ("l2", None), f"penalty={final.penalty!r} (use 'l2' or None)"),
            (not final.average, f"average={final.average!r}"),
            (getattr(final, "class_weight", None) is None, "class_weight set"),
            (final.learning_rate in _RATES, f"learning_rate={final.learning_rate!r}"),
        ]
        bad = [why for ok, why in checks if not ok]
        return f"{name} with {', '.join(bad)} is not supported by LinearSGD" if bad else None

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        """Whether :class:`LinearSGD` can continue ``estimator``."""
        return cls.problem(estimator) is None

    # -- the step ------------------------------------------------------------------------
    @staticmethod
    def _gradient(y: float, raw: float) -> float:
        """d loss / d raw prediction of the half binomial loss, as scikit-learn computes it."""
        if raw > -37.0:
            e = math.exp(-raw)
            return ((1.0 - y) - y * e) / (1.0 + e)
        return math.exp(raw) - y

    def _eta(self, t: float) -> float:
        if self.learning_rate == "optimal":
            return 1.0 / (self.alpha * (self._optimal_init + t - 1.0))
        if self.learning_rate == "invscaling":
            return self.eta0 / t**self.power_t
        return self.eta0

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        if not self._scaling:
            return x
        row = self._row
        np.subtract(x, self.mean, out=row)
        np.divide(row, self.scale, out=row)
        return row

    def decision_row(self, x: np.ndarray) -> np.ndarray:
        """Raw outputs (decision function) for one raw feature row."""
        xs = self._scaled(x)
        return np.asarray(self.w @ xs * self.wscale + self.b)

    def decision_batch(self, X: np.ndarray) -> np.ndarray:
        """Raw outputs of many raw rows: ``(n,)`` for one output, else ``(n, n_outputs)``."""
        raw = (np.asarray(X, dtype=np.float64) - self.mean) / self.scale @ self.w.T
        raw = raw * self.wscale + self.b
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def predict_row(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (classifiers) or the value, as a 1-D array, for one row."""
        xs = self._scaled(x)
        if self._binary:
            z = ddot(xs, self._w0) * self.wscale + self._b0
            if not self.classifier:
                return np.array((z,))
            if z >= 0:
                p = 1.0 / (1.0 + math.exp(-z))
            else:
                e = math.exp(z)
                p = e / (1.0 + e)
            return np.array((1.0 - p, p))
        p = 1.0 / (1.0 + np.exp(-(self.w @ xs * self.wscale + self.b)))
        total = p.sum()
        return np.asarray(p / total) if total > 0 else np.full(p.size, 1.0 / p.size)

    def _decay(self, eta: float) -> None:
        if not self.decayed:
            return
        self.wscale *= max(0.0, 1.0 - eta * self.alpha)
        if self.wscale < _RESET_WSCALE:
            self.w *= self.wscale
            self.wscale = 1.0

    def learn_one(self, x: np.ndarray, y: float, weight: float = 1.0) -> None:
        """One SGD step on a raw feature row; ``y`` is a class index or the target."""
        xs = self._scaled(x)
        eta = self.eta0 if self._constant_eta else self._eta(self.t)
        if self._binary:  # the hot path, written out: the same operations as _plain_sgd
            wscale = self.wscale
            raw = ddot(xs, self._w0) * wscale + self._b0
            if self.classifier:
                if raw > -37.0:
                    e = math.exp(-raw)
                    dloss = (-e / (1.0 + e)) if y == 1 else (1.0 / (1.0 + e))
                else:
                    dloss = math.exp(raw) - (1.0 if y == 1 else 0.0)
            else:
                dloss = raw - y
            if dloss > _MAX_DLOSS:
                dloss = _MAX_DLOSS
            elif dloss < -_MAX_DLOSS:
                dloss = -_MAX_DLOSS
            update = -eta * dloss * weight
            if self.decayed:
                if self._constant_eta:
                    wscale *= self._decay_factor
                else:
                    wscale *= max(0.0, 1.0 - eta * self.alpha)
                if wscale < _RESET_WSCALE:
                    self.w *= wscale
                    wscale = 1.0
                self.wscale = wscale
            if update != 0.0:
                daxpy(xs, self._w0, a=update / wscale)
            if self.fit_intercept:
                self._b0 += update
        else:  # one-vs-rest: every class's binary problem takes its step at once
            raw_all = self.w @ xs * self.wscale + self.b
            targets = (np.arange(self.n_classes) == int(y)).astype(np.float64)
            grads = np.array([self._gradient(t, r) for t, r in zip(targets, raw_all, strict=True)])
            updates = -eta * np.clip(grads, -_MAX_DLOSS, _MAX_DLOSS) * weight
            self._decay(eta)
            self.w += np.outer(updates / self.wscale, xs)
            if self.fit_intercept:
                self._b += updates
        self.t += 1.0

    def learn_many(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> None:
        """A batch as ``len(X)`` steps with gradients taken at the starting weights."""
        X = np.asarray(X, dtype=np.float64)
        n = X.shape[0]
        if n == 0:
            return
        w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
        Xs = (X - self.mean) / self.scale
        raw = Xs @ self.w.T * self.wscale + self.b  # (n, n_outputs)
        steps = self.t + np.arange(n, dtype=np.float64)
        if self.learning_rate == "optimal":
            etas = 1.0 / (self.alpha * (self._optimal_init + steps - 1.0))
        elif self.learning_rate == "invscaling":
            etas = self.eta0 / steps**self.power_t
        else:
            etas = np.full(n, self.eta0)
        if self.classifier:
            if self.w.shape[0] == 1:
                targets = (np.asarray(y) == 1).astype(np.float64)[:, None]
            else:
                targets = (np.asarray(y)[:, None] == np.arange(self.n_classes)).astype(np.float64)
            with np.errstate(over="ignore"):
                e = np.exp(-raw)
                grads = np.where(
                    raw > -37.0, ((1 - targets) - targets * e) / (1 + e), np.exp(raw) - targets
                )
        else:
            grads = raw - np.asarray(y, dtype=np.float64)[:, None]
        updates = -etas[:, None] * np.clip(grads, -_MAX_DLOSS, _MAX_DLOSS) * w[:, None]
        decays = np.maximum(0.0, 1.0 - etas * self.alpha) if self.decayed else np.ones(n)
        after = np.append(np.cumprod(decays[::-1])[::-1][1:], 1.0)  # decay applied after row i
        total = float(np.prod(decays))
        w_new = self.w * (self.wscale * total) + (updates * after[:, None]).T @ Xs
        self.w[...] = w_new
        self.wscale = 1.0
        if self.fit_intercept:
            self.b = self.b + updates.sum(axis=0)
        self.t += n

    # -- export and checkpoints --------------------------------------------------------
    def to_estimator(self) -> Any:
        """A copy of the fitted scikit-learn estimator carrying the current weights."""
        estimator = copy.deepcopy(self.template)
        _, final = linear_parts(estimator)
        coef = self.w * self.wscale
        final.coef_ = coef if self.classifier else coef[0]
        final.intercept_ = self.b
        final.t_ = self.t
        return estimator

    def state(self) -> dict[str, np.ndarray]:
        """The weights (unscaled, and their scale: restored bit for bit) and step counter."""
        return {
            "w": self.w.copy(),
            "wscale": np.array([self.wscale]),
            "b": self.b,
            "t": np.array([self.t]),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Set the weights and step counter from :meth:`state`."""
        self.w[...] = np.asarray(state["w"], dtype=np.float64).reshape(self.w.shape)
        self.wscale = float(np.asarray(state.get("wscale", [1.0])).ravel()[0])
        self.b = np.asarray(state["b"], dtype=np.float64)
        self.t = float(np.asarray(state["t"]).ravel()[0])
