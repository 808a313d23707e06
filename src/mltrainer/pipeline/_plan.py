"""The training plan: one config turned into everything a run needs, built in one place.

``Plan.from_config(config)`` validates every setting that needs no data, loads and checks
the bars, builds the dataset, the splitter (with the label horizon as embargo), the
scorers, the sample weights and the resampling hook. ``plan.estimator(params)`` is the
exact pipeline cross-validation fits (selection refitted in each fold, then the model);
the Trainer, the tuning objective and the monitor's retrain action all use it, so a trial
of ``mltrainer tune`` scores exactly what ``mltrainer train`` then trains.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from mltrainer.augment import check_augment, check_folds, make_augmenter
from mltrainer.config import Config
from mltrainer.cv import (
    CVResult,
    FoldResult,
    Resampler,
    TrainingRows,
    cross_validate,
    default_scoring,
    fit_rows,
    splitter_for_horizon,
    uniqueness_weights,
)
from mltrainer.data import load_bars
from mltrainer.ensemble import (
    as_composite,
    check_ensemble_config,
    check_ensemble_data,
    is_ensemble,
    make_ensemble,
)
from mltrainer.exceptions import ConfigError
from mltrainer.features import default_feature_spec, feature_columns, max_lookback
from mltrainer.labels import label_horizon, label_kind, label_lookback
from mltrainer.models import make_model, model_type
from mltrainer.pipeline._dataset import Dataset, build_dataset
from mltrainer.pipeline._params import load_best_params
from mltrainer.selection import TrainerSelection

__all__ = ["FinalFit", "Plan", "check_config", "min_rows"]

logger = logging.getLogger("mltrainer")

_MIN_ROWS_PER_FOLD = 10
_CV_OWN_SETTINGS = {"method", "scoring", "sample_weight", "n_jobs"}


def feature_spec(config: Config) -> list[dict[str, Any]]:
    """The effective feature spec (the config's, or the default catalogue selection)."""
    spec = config.features
    return [dict(item) for item in (spec if spec is not None else default_feature_spec())]


def min_rows(config: Config) -> tuple[int, str]:
    """Rows needed per instrument for the configured windows, label and folds."""
    label = config.label
    warmup = max_lookback(feature_spec(config)) + label_lookback(label)
    horizon = label_horizon(label)
    cv = config.cv
    n_parts = cv.n_groups if cv.method == "combinatorial" and cv.n_groups else cv.n_splits
    per_folds = (n_parts + 1) * _MIN_ROWS_PER_FOLD
    reason = (
        f"feature/label warm-up {warmup} + label horizon {horizon}"
        f" + {per_folds} for {n_parts} folds of at least {_MIN_ROWS_PER_FOLD} rows"
    )
    return warmup + horizon + per_folds, reason


def _cv_params(config: Config) -> dict[str, Any]:
    return config.cv.model_dump(exclude_unset=True, exclude=_CV_OWN_SETTINGS)


def _model_params(config: Config) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The params over the catalogue defaults, and where tuned ones came from."""
    params = dict(config.model.params)
    if config.model.params_source != "optimized":
        return params, None
    origin = load_best_params(config)  # the promoted best of `mltrainer tune`
    params.update(origin["params"])
    return params, origin


def check_config(config: Config) -> None:
    """Refuse every setting that can be judged without data, before anything is loaded.

    Raises
    ------
    ConfigError
        For an unknown model type or parameter, a model that does not do the label's task,
        or an invalid cv setting.
    """
    kind = label_kind(config.label)
    if is_ensemble(config.model):
        check_ensemble_config(
            config.model,
            kind,
            params=config.model.params,
            columns=feature_columns(feature_spec(config)),
            label=config.label,
            selection=config.selection.method,
            seed=config.seed,
        )
    else:
        make_model(config.model.type, kind, dict(config.model.params), random_state=config.seed)
    check_augment(config.augment, kind, selection=config.selection.method)
    if config.augment.enabled and is_ensemble(config.model) and config.model.combine == "stack":
        # the stack's inner folds would score synthetic rows as if they were held out
        raise ConfigError(
            f"augment.method: {config.augment.method} with model.combine: stack is not"
            " supported: the meta model's inner folds would hold synthetic rows; use"
            " combine: average or vote_soft, or augment.method: none"
        )
    splitter_for_horizon(
        config.cv.method, _cv_params(config), t1=None, horizon=label_horizon(config.label)
    )


def _augmenter(config: Config, bars: pd.DataFrame, dataset: Dataset, splitter: Any) -> Any:
    """The ``augment`` section's resampler, checked on every fold before any fit."""
    augmenter = make_augmenter(
        config.augment,
        kind=dataset.kind,
        bars=bars,
        features=feature_spec(config),
        label=config.label,
        columns=dataset.feature_names,
        classes=dataset.classes,
        seed=config.seed,
    )
    check_folds(augmenter, dataset.X, dataset.y, dataset.t1, splitter)
    return augmenter


@dataclass(frozen=True)
class FinalFit:
    """The model fitted on every training row, with the rows and columns it saw."""

    model: Any
    dataset: Dataset
    selection: dict[str, Any] | None
    n_synthetic: int


@dataclass(frozen=True)
class Plan:
    """Everything one run needs, built from a config (see :meth:`from_config`).

    Attributes
    ----------
    config : Config
        The validated configuration.
    bars : DataFrame
        The loaded, validated bars.
    dataset : Dataset
        Features and labels aligned on decision time (warm-up rows dropped).
    splitter : cross-validator
        The configured splitter, given the labels' end times.
    scoring : list of str
        The scorers; the first is the headline (tuning optimises it).
    sample_weight : ndarray or None
        Uniqueness weights when ``cv.sample_weight: uniqueness``.
    params : dict
        The model params over the catalogue defaults (tuned ones merged in for
        ``params: optimized``).
    params_origin : dict or None
        Where tuned params came from (study, time, score), for the metadata.
    resampler : Resampler or None
        The resampling hook of the fold loop (training rows only).
    """

    config: Config
    bars: pd.DataFrame
    dataset: Dataset
    splitter: Any
    scoring: list[str]
    sample_weight: np.ndarray | None
    params: dict[str, Any]
    params_origin: dict[str, Any] | None = None
    resampler: Resampler | None = None

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        bars: pd.DataFrame | None = None,
        resampler: Resampler | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> Plan:
        """Validate ``config``, load its bars (unless given) and build the plan.

        Parameters
        ----------
        config : Config
            The run's configuration.
        bars : DataFrame, optional
            Already validated bars (the data section is then not read).
        resampler : Resampler, optional
            A resampling hook for the fold loop.
        progress : callable, optional
            ``progress(stage)`` before loading and before building the dataset.
        """
        check_config(config)
        params, origin = _model_params(config)
        if progress is not None:
            progress("load")
        if bars is None:
            data = config.data
            needed, reason = min_rows(config)
            bars = load_bars(
                data.source,
                columns=data.columns or None,
                symbols=data.symbols,
                start=data.start,
                end=data.end,
                tz=data.tz,
                bar_time=data.bar_time,
                session_close=data.session_close,
                min_rows=needed,
                min_rows_reason=reason,
            )
        if progress is not None:
            progress("dataset")
        dataset = build_dataset(bars, features=feature_spec(config), label=config.label)
        logger.info("dataset: %d rows x %d features", len(dataset.X), dataset.X.shape[1])
        splitter = splitter_for_horizon(
            config.cv.method,
            _cv_params(config),
            t1=dataset.t1,
            horizon=label_horizon(config.label),
        )
        n_classes = len(dataset.classes) if dataset.classes else None
        scoring = list(config.cv.scoring or default_scoring(dataset.kind, n_classes))
        if resampler is None and config.augment.enabled:
            resampler = _augmenter(config, bars, dataset, splitter)
        weights = None
        if config.cv.sample_weight == "uniqueness":
            weights = np.asarray(uniqueness_weights(dataset.X.index, dataset.t1), dtype=float)
        plan = cls(
            config=config,
            bars=bars,
            dataset=dataset,
            splitter=splitter,
            scoring=scoring,
            sample_weight=weights,
            params=params,
            params_origin=origin,
            resampler=resampler,
        )
        plan.selection(plan.model())  # refuse bad selection settings before any fit
        if is_ensemble(config.model):  # regime rows, inner folds: before any fit
            check_ensemble_data(
                plan.model(),
                dataset.X,
                t1=dataset.t1,
                splitter=splitter,
                panel=dataset.symbols is not None,
            )
        return plan

    @property
    def kind(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return self.dataset.kind

    @property
    def feature_spec(self) -> list[dict[str, Any]]:
        """The effective feature spec."""
        return feature_spec(self.config)

    def model(self, params: Mapping[str, Any] | None = None, *, threads: int | None = None) -> Any:
        """The bare model: catalogue defaults, the plan's params, then ``params``.

        ``threads`` sets the catalogue entry's thread parameter (tuning workers pin it).
        An ensemble (``model.type: ensemble``) takes ``<member>__<param>`` params.
        """
        merged = {**self.params, **dict(params or {})}
        if is_ensemble(self.config.model):
            return make_ensemble(
                self.config.model,
                self.kind,
                merged,
                splitter=self.splitter,
                random_state=self.config.seed,
                threads=threads,
            )
        entry = model_type(self.config.model.type)
        if threads is not None and entry.thread_param is not None:
            merged[entry.thread_param] = threads
        return make_model(self.config.model.type, self.kind, merged, random_state=self.config.seed)

    def selection(self, model: Any) -> TrainerSelection:
        """Feature selection for ``model`` (a no-op for ``selection.method: none``)."""
        return TrainerSelection(
            self.config.selection,
            model,
            t1=self.dataset.t1,
            splitter=self.splitter,
            seed=self.config.seed,
            n_features=self.dataset.X.shape[1],
            scoring=self.scoring[0],
        )

    def estimator(
        self, params: Mapping[str, Any] | None = None, *, threads: int | None = None
    ) -> Any:
        """What cross-validation fits: selection (refitted in each fold), then the model."""
        return self.selection(self.model(params, threads=threads)).cv_estimator()

    def cross_validate(
        self,
        estimator: Any = None,
        *,
        scoring: Any = None,
        return_estimators: bool = False,
        on_fold: Callable[[FoldResult, int], None] | None = None,
    ) -> CVResult:
        """Cross-validate ``estimator`` (default :meth:`estimator`) with the plan's splits."""
        return cross_validate(
            self.estimator() if estimator is None else estimator,
            self.dataset.X,
            self.dataset.y,
            cv=self.splitter,
            t1=self.dataset.t1,
            scoring=self.scoring if scoring is None else scoring,
            sample_weight=self.sample_weight,
            resampler=self.resampler,
            n_jobs=self.config.cv.n_jobs,
            return_estimators=return_estimators,
            on_fold=on_fold,
        )

    def fit_final(
        self, cv_result: CVResult | None = None, params: Mapping[str, Any] | None = None
    ) -> FinalFit:
        """Fit the model on every training row (selection chosen on all rows first).

        The saved model is the plain model on the selected columns; ``cv_result`` (fitted
        with ``return_estimators=True``) supplies each fold's selection for the metadata.
        """
        model = self.model(params)
        selection = self.selection(model)
        dataset = self.dataset
        if selection.enabled:
            if cv_result is None or cv_result.estimators is None:
                raise ConfigError(
                    "fit_final with selection needs the cross-validation's fitted estimators:"
                    " cross_validate(return_estimators=True)"
                )
            chosen = selection.fit_final(dataset.X, dataset.y, cv_result, self.sample_weight)
            dataset = replace(dataset, X=chosen)
        rows = TrainingRows(dataset.X, dataset.y, self.sample_weight, dataset.t1)
        fitted, used = fit_rows(clone(model), rows, resampler=self.resampler, fold=-1)
        # an ensemble is saved as its composite: one version, members in native formats
        return FinalFit(as_composite(fitted), dataset, selection.metadata, used.n_synthetic)
