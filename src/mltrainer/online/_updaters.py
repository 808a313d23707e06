"""Updaters: how a running model learns from matured rows, and what a checkpoint keeps of it.

An updater is bound to the running estimator by :meth:`Updater.start`; it predicts one row
(:meth:`~Updater.predict_row`), learns from matured rows (:meth:`~Updater.learn`), fits a
fresh candidate of the same kind on buffered rows when drift calls for a refit
(:meth:`~Updater.candidate`), swaps one in (:meth:`~Updater.adopt`) and gives its state as
arrays for checkpoints (:meth:`~Updater.state`, :meth:`~Updater.restore`).

=================  =========================================  ====================
updater            what one update does                       model types
=================  =========================================  ====================
``partial_fit``    :class:`PartialFit`: scikit-learn's SGD     ``sgd``
                   step, row by row or per batch
``continue``       append trees to the booster                ``xgboost``, ``lightgbm``
``refit``          LightGBM ``refit(decay_rate=...)``          ``lightgbm``
``river``          River ``learn_one``                         River models
``none``           nothing: predict, score, refit on drift    any
=================  =========================================  ====================
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone

from mltrainer.exceptions import ConfigError, MltrainerError
from mltrainer.models import MODEL_CATALOGUE, final_estimator, make_model, model_type_of

from ._linear import LinearSGD, linear_parts
from ._predictor import fast_predictor
from ._ring import RingBuffer

__all__ = ["CandidateError", "NoUpdate", "PartialFit", "Updater", "make_updater", "new_like"]


class CandidateError(MltrainerError):
    """A refit candidate cannot be fitted on the buffered rows (the reason is recorded)."""


def new_like(
    estimator: Any, params: Mapping[str, Any] | None, *, kind: str, seed: int | None
) -> Any:
    """An unfitted estimator of ``estimator``'s kind with the params it was trained with.

    A registry model loads without its training params (a booster has no ``get_params``),
    so the catalogue builds the type and the params stored in the version's metadata are
    set on it; a model of no catalogue type is cloned.
    """
    entry = model_type_of(estimator)
    if entry is not None and params and kind in entry.builders:
        fresh = make_model(entry.name, kind, random_state=seed)
        valid = fresh.get_params(deep=True)
        chosen = {k: v for k, v in params.items() if k in valid and v is not None and _plain(v)}
        return fresh.set_params(**chosen)
    try:
        return clone(estimator)
    except (TypeError, RuntimeError) as exc:
        raise CandidateError(
            f"{type(estimator).__name__} cannot be cloned for a refit: {exc}"
        ) from exc


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _check_classes(y: np.ndarray, n_classes: int) -> None:
    present = np.unique(y.astype(np.int64))
    missing = sorted(set(range(n_classes)) - set(present.tolist()))
    if missing:
        raise CandidateError(
            f"the buffered rows lack class index {missing} of {n_classes}; a refit needs rows "
            "of every class (grow the buffer)"
        )


class Updater:
    """The base updater: predicts and refits on drift, learns nothing between refits.

    Subclasses set :attr:`method`, override :meth:`learn`, and keep their learnt state in
    :meth:`state`/:meth:`restore`.
    """

    method: ClassVar[str] = "none"
    #: the update schedule used when the processor is given none
    default_update: ClassVar[str] = "every_bar"

    def __init__(self) -> None:
        self.kind = "classification"
        self.n_classes = 0
        self.feature_names: list[str] = []
        self.params: dict[str, Any] = {}
        self.seed: int | None = None
        self.n_updates = 0
        self._estimator: Any = None
        self._predictor: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_updates={self.n_updates})"

    def start(
        self,
        estimator: Any,
        *,
        kind: str,
        n_classes: int,
        feature_names: Sequence[str],
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        """Bind the running model (fitted) and what the updater needs to know about it."""
        self.kind = kind
        self.n_classes = int(n_classes)
        self.feature_names = list(feature_names)
        self.params = dict(params or {})
        self.seed = seed
        self._bind(estimator)

    def _bind(self, estimator: Any) -> None:
        self._estimator = estimator
        self._predictor = fast_predictor(
            estimator, self.feature_names, classifier=self.kind == "classification"
        )

    @property
    def ready(self) -> bool:
        """Whether the model can predict (False for a cold start before its first update)."""
        return self._predictor is not None

    def predict_row(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (by class index) or ``[value]`` for one feature row."""
        return np.asarray(self._predictor.predict_row(x))

    def learn(
        self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, *, buffer: RingBuffer
    ) -> None:
        """Learn from matured rows (class indices or targets); ``buffer`` holds them too."""

    def estimator(self) -> Any:
        """The running model as a fitted estimator the registry can save, or None."""
        return self._estimator

    def candidate(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray) -> Any:
        """A fresh estimator of the running kind, fitted on ``X, y`` (raises CandidateError)."""
        from mltrainer.cv import fit_params

        if self.kind == "classification":
            _check_classes(y, self.n_classes)
            y = y.astype(np.int64)
        fresh = new_like(self._estimator, self.params, kind=self.kind, seed=self.seed)
        try:
            return fresh.fit(X, y, **fit_params(fresh, weight))
        except (ValueError, ConfigError) as exc:
            raise CandidateError(f"the refit failed: {exc}") from exc

    def adopt(self, estimator: Any) -> None:
        """Make ``estimator`` (a fitted candidate) the running model."""
        self._bind(estimator)

    def state(self) -> dict[str, np.ndarray]:
        """What a checkpoint keeps of the learnt model, as arrays."""
        return {"n_updates": np.array([self.n_updates])}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state` onto the model bound by :meth:`start`."""
        self.n_updates = int(np.asarray(state.get("n_updates", [0])).ravel()[0])


class NoUpdate(Updater):
    """Predict with the model as trained; only a refit on drift changes it."""


class PartialFit(Updater):
    """scikit-learn's SGD step on matured rows (:class:`~mltrainer.online._linear.LinearSGD`).

    With ``update="every_bar"`` each matured row is one step (``partial_fit`` on that row
    gives the same weights); with ``update="batch:N"`` N rows are one vectorised step
    whose gradients are taken at the batch's starting weights. The model's
    ``StandardScaler`` stays as trained. An unfitted ``SGDClassifier``/``SGDRegressor``
    (or a ``Pipeline`` of a ``StandardScaler`` and one) starts cold: it predicts nothing
    until its first update, which fits the scaler on that batch and calls ``partial_fit``
    with ``classes=`` (every class index of the label).
    """

    method = "partial_fit"

    def __init__(self) -> None:
        super().__init__()
        self._engine: LinearSGD | None = None
        self._template: Any = None

    def _bind(self, estimator: Any) -> None:
        self._estimator = estimator
        self._template = estimator
        if not hasattr(final_estimator(estimator), "coef_"):
            self._engine = None  # cold start
            self._predictor = None
            return
        problem = LinearSGD.problem(estimator)
        if problem is not None:
            raise ConfigError(f"updater 'partial_fit': {problem}")
        self._engine = LinearSGD(estimator)
        self._predictor = self._engine

    def _cold_start(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray) -> None:
        from sklearn.pipeline import Pipeline

        estimator = copy.deepcopy(self._template)
        final = estimator
        Xs = X
        if isinstance(estimator, Pipeline):
            *steps, (_, final) = estimator.steps
            for _, step in steps:
                Xs = step.fit(Xs).transform(Xs)
        extra: dict[str, Any] = {}
        if self.kind == "classification":
            extra["classes"] = np.arange(self.n_classes)
        final.partial_fit(Xs, y, sample_weight=weight, **extra)
        self._bind(estimator)

    def learn(
        self, X: np.ndarray, y: np.ndarray, weight: np.ndarray, *, buffer: RingBuffer
    ) -> None:
        """One step per row (``len(X) == 1``) or one vectorised step for the batch."""
        if self._engine is None:
            self._cold_start(X, y, weight)
        elif X.shape[0] == 1:
            self._engine.learn_one(X[0], float(y[0]), float(weight[0]))
        else:
            self._engine.learn_many(X, y, weight)
        self.n_updates += 1

    def estimator(self) -> Any:
        """The scikit-learn pipeline carrying the current weights (None before a cold start)."""
        return None if self._engine is None else self._engine.to_estimator()

    def state(self) -> dict[str, np.ndarray]:
        """Weights, intercept and step counter (and the scaler fitted by a cold start)."""
        out = super().state()
        if self._engine is not None:
            out.update({f"sgd_{k}": v for k, v in self._engine.state().items()})
            out["sgd_mean"] = self._engine.mean.copy()
            out["sgd_scale"] = self._engine.scale.copy()
        return out

    def restore(self, state: Mapping[str, Any]) -> None:
        """Set the weights; a cold-started model is first rebuilt from the stored scaler."""
        super().restore(state)
        if "sgd_w" not in state:
            return
        if self._engine is None:  # cold start: rebuild the fitted objects, then set them
            n_features = np.asarray(state["sgd_mean"]).size
            X = np.zeros((max(self.n_classes, 1), n_features))
            y = np.arange(max(self.n_classes, 1)) if self.kind == "classification" else np.zeros(1)
            self._cold_start(X[: len(y)], y, np.ones(len(y)))
        assert self._engine is not None
        self._set_scaler(np.asarray(state["sgd_mean"]), np.asarray(state["sgd_scale"]))
        self._engine.restore({k[4:]: v for k, v in state.items() if k.startswith("sgd_")})

    def _set_scaler(self, mean: np.ndarray, scale: np.ndarray) -> None:
        assert self._engine is not None
        self._engine.template = copy.deepcopy(self._engine.template)  # never the caller's model
        self._engine.mean[...] = mean
        self._engine.scale[...] = scale
        scaler, _ = linear_parts(self._engine.template)
        if scaler is not None:
            scaler.mean_ = mean.copy()
            scaler.scale_ = scale.copy()
            scaler.var_ = scale.copy() ** 2


_METHODS = ("partial_fit", "continue", "refit", "river", "none")


def _is_river(model: Any) -> bool:
    return type(model).__module__.split(".")[0] == "river"


def make_updater(model: Any, method: str | Updater | None = None) -> Updater:
    """The updater for ``model``: ``method`` by name, or the model type's first one.

    Parameters
    ----------
    model : Any
        The running estimator (scikit-learn, XGBoost, LightGBM, or a River model).
    method : str or Updater, optional
        ``"partial_fit"``, ``"continue"``, ``"refit"``, ``"river"``, ``"none"``, or a
        configured updater instance (e.g. ``XGBoostContinue(trees_per_update=5)``).

    Raises
    ------
    ConfigError
        When the model type cannot update that way, listing the types that can.
    """
    if isinstance(method, Updater):
        return method
    if _is_river(model):
        if method not in (None, "river", "none"):
            raise ConfigError(f"updater {method!r} does not apply to a River model; use 'river'")
        from ._river import RiverUpdater

        return NoUpdate() if method == "none" else RiverUpdater()
    entry = model_type_of(model)
    if method == "none":
        return NoUpdate()
    if method is not None and method not in _METHODS:
        raise ConfigError(f"updater {method!r} is unknown; use one of {', '.join(_METHODS)}")
    updates = sorted(entry.updates) if entry is not None else []
    if method is None or method not in updates:
        if method is None and updates:
            method = next(m for m in ("partial_fit", "continue", "refit") if m in updates)
        else:
            can = [
                f"{name} ({', '.join(sorted(t.updates))})"
                for name, t in MODEL_CATALOGUE.items()
                if t.updates
            ]
            what = f"model type '{entry.name}'" if entry is not None else type(model).__name__
            how = f"with '{method}'" if method is not None else "online"
            raise ConfigError(
                f"{what} cannot update {how} (its updates: {updates or 'none'}); types that "
                f"can: {'; '.join(can)}; retrain with one of them or use updater 'none' "
                "(predict, score and refit on drift only)"
            )
    if method == "partial_fit":
        return PartialFit()
    from ._boosters import LightGBMContinue, LightGBMRefit, XGBoostContinue

    if entry is not None and entry.name == "xgboost":
        return XGBoostContinue()
    return LightGBMContinue() if method == "continue" else LightGBMRefit()
