"""``explain(model, X)``: pick the exact method for each model, build it once, explain rows.

The method of each model (or composite member) is chosen from what it is:

=================  ==========================================================  ===========
method             models                                                      space
=================  ==========================================================  ===========
``tree``           XGBoost, LightGBM (their native TreeSHAP); scikit-learn      margin / raw
                   forests and trees (``shap.TreeExplainer``)                   (forests:
                                                                                probability)
``linear``         scikit-learn linear models, through their scalers            margin / raw
``permutation``    any estimator with ``predict_proba`` / ``predict``           probability
                   (``shap.PermutationExplainer``, k-means training background) / raw
``kernel``         the same with ``shap.KernelExplainer``                       probability
                                                                                / raw
``composite``      composites: the members' explanations composed exactly       see
                                                                                ``_compose``
=================  ==========================================================  ===========
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError, MltrainerError, did_you_mean
from mltrainer.explain._compose import link_to_probability
from mltrainer.explain._composers import composable, composer_for
from mltrainer.explain._explanation import Explanation
from mltrainer.explain._linear import LinearMethod, is_linear
from mltrainer.explain._sampling import DEFAULT_MAX_ROWS, SamplingMethod
from mltrainer.explain._target import (
    Target,
    as_input,
    check_frame,
    is_scaler,
    make_target,
    seen_positions,
)
from mltrainer.explain._training import (
    Background,
    TrainingStats,
    background_from_frame,
    load_background,
    load_stats,
)
from mltrainer.explain._trees import TreeMethod, tree_kind
from mltrainer.models import Composite, final_estimator, model_names, preprocessing_steps

__all__ = ["METHODS", "Explainer", "explain"]

#: Values of ``method``: ``auto`` picks the exact one for each model.
METHODS: tuple[str, ...] = ("auto", "tree", "linear", "permutation", "kernel")

_WHICH = (
    "tree (XGBoost, LightGBM, scikit-learn forests and trees), linear (scikit-learn linear "
    "models with their scalers), permutation and kernel (any estimator with predict_proba "
    "or predict, against the training background)"
)


def _is_loaded(model: Any) -> bool:
    return all(hasattr(model, a) for a in ("estimator", "feature_names", "metadata", "path"))


def _label_classes(model: Any) -> list[Any] | None:
    classes = (model.metadata.get("label") or {}).get("classes")
    return list(classes) if classes else None


class Explainer:
    """Explain a model's outputs: the method is chosen and built once, then reused.

    Parameters
    ----------
    model : LoadedModel or fitted estimator
        A registered version (its training background and statistics are read from the
        version), or a fitted XGBoost / LightGBM / scikit-learn estimator, pipeline or
        composite (``AveragingComposite``).
    method : {"auto", "tree", "linear", "permutation", "kernel"}, default "auto"
        ``auto``: the exact method of each model type (see the module table).
    space : {"margin", "probability", "raw"}, optional
        For composites: the space to compose in (default margin when every member has a
        margin, else probability). For a margin model, ``"probability"`` carries the
        explanation through its link (see :func:`link_to_probability`).
    background : DataFrame or Background, optional
        Training rows for the permutation/kernel explainers (a frame is summarised by
        ``background_size`` k-means centroids when needed); a registered version uses the
        background saved with it.
    background_size : int, default 50
        Centroids kept from a ``background`` frame.
    max_rows : int, default 1000
        Rows a permutation or kernel call may explain (refused above, with the estimated
        time).
    max_evals : int, optional
        Permutation evaluations per row (default 500) or kernel ``nsamples``.
    feature_names : sequence of str, optional
        The columns a plain estimator reads (default: the names it was fitted with).
    random_state : int, default 0
        Seeds the sampling explainers.
    fast : bool, default False
        Precompute single-row TreeSHAP tables for XGBoost/LightGBM models on the first
        call (checked against the booster on that call's rows, and on the version's
        background), so later calls of up to 64 rows take microseconds instead of a
        millisecond: for per-decision use.

    Raises
    ------
    ConfigError
        For an unknown method, a method that does not apply to the model, or a model with
        no explainer (the message lists the methods).
    """

    def __init__(
        self,
        model: Any,
        *,
        method: str = "auto",
        space: str | None = None,
        background: pd.DataFrame | Background | None = None,
        background_size: int = 50,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_evals: int | None = None,
        feature_names: Sequence[str] | None = None,
        random_state: int = 0,
        fast: bool = False,
    ) -> None:
        if method not in METHODS:
            raise ConfigError(
                f"unknown explanation method {method!r}{did_you_mean(str(method), METHODS)}; "
                f"choose one of {', '.join(METHODS)}"
            )
        if space is not None and space not in ("margin", "probability", "raw"):
            raise ConfigError(f"space={space!r} is not margin, probability or raw")
        self.model = model
        self.method = method
        self.space = space
        self.max_rows = max_rows
        self.max_evals = max_evals
        self.random_state = random_state
        self.fast = fast
        self._prepared = False
        self._background = background
        self.background_size = background_size
        self._stats: TrainingStats | None = None
        if _is_loaded(model):
            self.estimator = model.estimator
            self.feature_names = list(model.feature_names)
            classes = _label_classes(model)
        else:
            self._check_explainable(model)
            self.estimator = model
            try:
                self.feature_names = model_names(model, feature_names)
            except ConfigError:
                raise ConfigError(
                    f"cannot tell which columns {type(model).__name__} reads: pass "
                    "feature_names=[...] (or fit it on a DataFrame)"
                ) from None
            classes = None
        inside = _composite_inside(self.estimator, self.feature_names)
        if inside is not None:  # a composite (or fitted ensemble) behind column selectors
            self.estimator, self.feature_names = inside
        self._check_explainable(self.estimator)
        self._index = pd.Index(self.feature_names)
        # a composite without an exact composition (hard vote, non-linear meta) is
        # explained like any model, by the sampling explainers
        self.composite = isinstance(self.estimator, Composite) and composable(self.estimator)
        self.targets: dict[str, Target] = {}
        if self.composite:
            columns = self.estimator.composite_features()
            for name, member in self.estimator.composite_members().items():
                self._check_explainable(member)
                self.targets[name] = make_target(
                    member, columns.get(name) or self.feature_names, classes=classes
                )
        else:
            self.targets["model"] = make_target(self.estimator, self.feature_names, classes=classes)
        self.methods = {name: self._method_for(t) for name, t in self.targets.items()}
        self.task = next(iter(self.targets.values())).task
        self.classes = next(iter(self.targets.values())).classes

    # -- construction ----------------------------------------------------------------------

    @staticmethod
    def _check_explainable(estimator: Any) -> None:
        if not (
            callable(getattr(estimator, "predict_proba", None))
            or callable(getattr(estimator, "predict", None))
        ):
            raise ConfigError(
                f"cannot explain {type(estimator).__name__}: it has neither predict_proba nor "
                f"predict; the methods are {_WHICH}"
            )

    def background(self) -> Background:
        """The training background: given, else the one saved with the version."""
        if isinstance(self._background, Background):
            return self._background
        if isinstance(self._background, pd.DataFrame):
            self._background = background_from_frame(
                self._background, size=self.background_size, random_state=self.random_state
            )
            return self._background
        if _is_loaded(self.model):
            self._background = load_background(self.model)
            return self._background
        raise ConfigError(
            f"the {self.method if self.method != 'auto' else 'permutation'} explainer of "
            f"{type(self.estimator).__name__} needs training rows: pass background= (a "
            "frame of training rows) or explain a registered version"
        )

    def stats(self) -> TrainingStats:
        """The training statistics saved with the version (registered models only)."""
        if self._stats is None:
            if not _is_loaded(self.model):
                raise ConfigError(
                    "training statistics are saved with registered versions; explain a "
                    "version loaded with mltrainer.load_model"
                )
            self._stats = load_stats(self.model)
        return self._stats

    def _means(self, target: Target) -> np.ndarray | None:
        _center, _, centred = target.scaling()
        if centred:
            return None
        if _is_loaded(self.model):
            stats = self.stats().subset(target.feature_names)
            return np.asarray(stats.means)
        if self._background is not None:
            bg = self.background()
            frame = bg.data[target.feature_names].to_numpy(dtype=float)
            return np.asarray(bg.weights @ frame)
        return None

    def _method_for(self, target: Target) -> Any:
        kind = tree_kind(target.final)
        linear = is_linear(target.final) and target.seen is not None
        tree = kind is not None and target.seen is not None
        method = self.method
        if method == "auto":
            method = "tree" if tree else "linear" if linear else "permutation"
        usable = [
            m
            for m, ok in (
                ("tree", tree),
                ("linear", linear),
                ("permutation", True),
                ("kernel", True),
            )
            if ok
        ]
        if method not in usable:
            raise ConfigError(
                f"method={method!r} does not apply to {type(target.final).__name__}"
                f"{' after its preprocessing' if target.steps else ''}; use one of "
                f"{', '.join(usable)} (auto picks {usable[0]}); the methods are {_WHICH}"
            )
        if method == "tree":
            return TreeMethod(target)
        if method == "linear":
            return LinearMethod(target, means=self._means(target))
        return SamplingMethod(
            target,
            kind=method,
            background=self.background(),
            max_rows=self.max_rows,
            max_evals=self.max_evals,
            random_state=self.random_state,
        )

    def _prepare_fast(self, frame: pd.DataFrame) -> None:
        rows = frame.iloc[:64]
        if _is_loaded(self.model) and self._background is None:
            try:
                extra = check_frame(self.background().data, self.feature_names)
                rows = pd.concat([rows, extra], ignore_index=True)
            except MltrainerError:  # a version saved before explanations: the rows alone
                pass
        for name, method in self.methods.items():
            if isinstance(method, TreeMethod):
                method.prepare_fast(rows[self.targets[name].feature_names])
        self._prepared = True

    # -- explaining -------------------------------------------------------------------------

    @property
    def method_names(self) -> dict[str, str]:
        """The method of each member (``{"model": ...}`` for a plain model)."""
        return {name: m.name for name, m in self.methods.items()}

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The model's class probabilities for ``frame`` (None for regressors)."""
        if self.task != "classification":
            return None
        if _is_loaded(self.model):
            return np.asarray(self.model.predict_proba(frame), dtype=float)
        data = as_input(self.estimator, frame.to_numpy(dtype=float), self.feature_names)
        if self.composite:
            data = frame
        return np.asarray(self.estimator.predict_proba(data), dtype=float)

    def explain(
        self, X: pd.DataFrame, *, interactions: bool = False, probabilities: bool = True
    ) -> Explanation:
        """Explain every row of ``X`` (a frame holding the model's features).

        Parameters
        ----------
        X : DataFrame
            Must hold every feature the model reads (extra columns are ignored).
        interactions : bool, default False
            Also compute SHAP interaction values (tree models).
        probabilities : bool, default True
            Attach the model's class probabilities (classifiers).

        Raises
        ------
        SchemaError
            If ``X`` lacks a feature (named) or holds a non-numeric one.
        ConfigError
            Above the row budget of the permutation/kernel explainers, with the estimate.
        """
        frame = check_frame(X, self.feature_names, index=self._index)
        if self.fast and not self._prepared:
            self._prepare_fast(frame)
        if self.composite:
            if interactions:
                raise ConfigError("interaction values are not composed; explain a member")
            members = {
                name: self.methods[name].explain(frame[target.feature_names])
                for name, target in self.targets.items()
            }
            composer = composer_for(self.estimator)
            explanation = composer(self.estimator, frame, members, space=self.space)
        else:
            explanation = self.methods["model"].explain(frame, interactions=interactions)
            if self.space is not None and self.space != explanation.space:
                if not (self.space == "probability" and explanation.space == "margin"):
                    raise ConfigError(
                        f"{type(self.estimator).__name__} is explained in {explanation.space} "
                        f"space; space={self.space!r} is available only to carry a margin "
                        "explanation into probability space"
                    )
                explanation = link_to_probability(explanation)
        if probabilities and self.task == "classification":
            explanation = replace(
                explanation, probabilities=self.probabilities(frame), classes=self.classes
            )
        return explanation


def explain(
    model: Any,
    X: pd.DataFrame,
    *,
    method: str = "auto",
    space: str | None = None,
    background: pd.DataFrame | Background | None = None,
    interactions: bool = False,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_evals: int | None = None,
    feature_names: Sequence[str] | None = None,
    random_state: int = 0,
) -> Explanation:
    """Explain the model's output on every row of ``X``: contributions, base, space.

    A shortcut for ``Explainer(model, ...).explain(X)``; build an :class:`Explainer` once to
    explain many batches.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mltrainer.models import make_model
    >>> X = pd.DataFrame({"a": np.arange(40.0) % 7, "b": np.arange(40.0) % 5})
    >>> y = (X["a"] + X["b"] > 5).astype(int)
    >>> model = make_model("logistic", "classification").fit(X, y)
    >>> result = explain(model, X)
    >>> result.method, result.space, result.outputs, result.additive
    ('linear', 'margin', ['1'], True)
    """
    return Explainer(
        model,
        method=method,
        space=space,
        background=background,
        max_rows=max_rows,
        max_evals=max_evals,
        feature_names=feature_names,
        random_state=random_state,
    ).explain(X, interactions=interactions)


def _composite_inside(estimator: Any, feature_names: list[str]) -> tuple[Any, list[str]] | None:
    """The composable composite at the end of ``estimator`` and the columns it reads.

    A fitted ensemble stands for its ``composite_``; column selectors before it narrow the
    columns. None when there is no such composite or another kind of step precedes it.
    """
    final = final_estimator(estimator)
    inner = getattr(final, "composite_", None)
    if isinstance(inner, Composite):
        final = inner
    if not (isinstance(final, Composite) and composable(final)):
        return None
    steps = preprocessing_steps(estimator)
    if any(is_scaler(step) for _, step in steps):
        return None  # the composite would read scaled columns
    seen = seen_positions(steps, len(feature_names))  # column selectors only, or None
    if seen is None:
        return None
    names = [feature_names[j] for j in seen]
    fitted = getattr(final, "feature_names_in_", None)
    if fitted is None or [str(c) for c in fitted] != names:
        return None  # fitted on unnamed (or other) columns: explained as a whole model
    return final, names
