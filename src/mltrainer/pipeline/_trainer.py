"""The Trainer: config in, registry entry and report out; the only place the layers meet."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from mltrainer.config import Config
from mltrainer.cv import CVResult, cross_validate, fit_params, make_splitter, uniqueness_weights
from mltrainer.data import data_fingerprint, load_bars
from mltrainer.exceptions import ConfigError
from mltrainer.features import default_feature_spec, max_lookback
from mltrainer.labels import label_horizon, label_kind, label_lookback
from mltrainer.models import make_model
from mltrainer.pipeline._dataset import Dataset, build_dataset
from mltrainer.registry import ModelRegistry, ModelVersion
from mltrainer.selection import TrainerSelection
from mltrainer.store import open_store, train_latest_key, train_scores_series

__all__ = ["ProgressCallback", "TrainResult", "Trainer", "default_scoring"]

logger = logging.getLogger("mltrainer")

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while a run advances."""

_CLASSIFICATION_SCORING = ["roc_auc", "accuracy", "neg_log_loss"]
_MULTICLASS_SCORING = ["roc_auc_ovr", "accuracy", "neg_log_loss"]
_REGRESSION_SCORING = ["r2", "neg_mean_squared_error", "neg_mean_absolute_error"]
_MIN_ROWS_PER_FOLD = 10


def default_scoring(kind: str, n_classes: int | None = None) -> list[str]:
    """Scorers reported when the config leaves ``cv.scoring`` unset; the first is the headline."""
    if kind == "regression":
        return list(_REGRESSION_SCORING)
    return list(_MULTICLASS_SCORING if (n_classes or 2) > 2 else _CLASSIFICATION_SCORING)


@dataclass
class TrainResult:
    """What a run produced: scores, out-of-fold predictions, timings and where the model is."""

    name: str
    version: int
    path: Path
    folds: pd.DataFrame
    mean_scores: dict[str, float]
    std_scores: dict[str, float]
    predictions: pd.DataFrame
    probabilities: pd.DataFrame | None
    feature_names: list[str]
    n_rows: int
    cv: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def headline(self) -> tuple[str, float]:
        """The first scorer and its mean over folds."""
        key = next(iter(self.mean_scores))
        return key, self.mean_scores[key]


class Trainer:
    """Run one training job described by a :class:`~mltrainer.config.Config`.

    Parameters
    ----------
    config : Config
        Validated configuration (see :func:`mltrainer.load_config`).
    progress : callable, optional
        ``progress(stage, done, total)``; the CLI draws progress bars with it.

    Examples
    --------
    >>> from mltrainer import Trainer, load_config
    >>> result = Trainer(load_config("examples/sp500_direction.yaml")).run()  # doctest: +SKIP
    >>> result.mean_scores["roc_auc"]  # doctest: +SKIP
    """

    def __init__(self, config: Config, *, progress: ProgressCallback | None = None) -> None:
        self.config = config
        self.progress = progress
        self.params_origin: dict[str, Any] | None = None  # set by `params: optimized`

    # -- steps -----------------------------------------------------------------------------
    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    @property
    def feature_spec(self) -> list[dict[str, Any]]:
        """The effective feature spec (the config's, or the default catalogue selection)."""
        spec = self.config.features
        return [dict(item) for item in (spec if spec is not None else default_feature_spec())]

    def min_rows(self) -> tuple[int, str]:
        """Rows needed per instrument for the configured windows, label and folds."""
        label = self.config.label
        warmup = max_lookback(self.feature_spec) + label_lookback(label)
        horizon = label_horizon(label)
        cv = self.config.cv
        n_parts = cv.n_groups if cv.method == "combinatorial" and cv.n_groups else cv.n_splits
        per_folds = (n_parts + 1) * _MIN_ROWS_PER_FOLD
        reason = (
            f"feature/label warm-up {warmup} + label horizon {horizon}"
            f" + {per_folds} for {n_parts} folds of at least {_MIN_ROWS_PER_FOLD} rows"
        )
        return warmup + horizon + per_folds, reason

    def load(self) -> pd.DataFrame:
        """Load and validate the configured bars (fails before any long work)."""
        data = self.config.data
        min_rows, reason = self.min_rows()
        return load_bars(
            data.source,
            columns=data.columns or None,
            symbols=data.symbols,
            start=data.start,
            end=data.end,
            tz=data.tz,
            min_rows=min_rows,
            min_rows_reason=reason,
        )

    def dataset(self, bars: pd.DataFrame) -> Dataset:
        """Features and labels aligned on decision time, warm-up rows dropped."""
        return build_dataset(bars, features=self.feature_spec, label=self.config.label)

    def splitter(self, dataset: Dataset) -> Any:
        """The configured cross-validator, given the labels' end times."""
        cv = self.config.cv
        params = cv.model_dump(
            exclude_unset=True, exclude={"method", "scoring", "sample_weight", "n_jobs"}
        )
        horizon = label_horizon(self.config.label)
        if cv.method == "combinatorial":
            params.pop("n_splits", None)
        if cv.method == "time_series":  # row-based: the gap must cover the label horizon
            if params.get("gap") is None:
                params["gap"] = horizon
            elif params["gap"] < horizon:
                raise ConfigError(
                    f"cv.gap={params['gap']} is shorter than the label horizon {horizon}:"
                    " training labels would overlap the test period; set cv.gap >="
                    f" {horizon} or use a purged method"
                )
        elif params.get("embargo") is None:
            params["embargo"] = horizon
        return make_splitter(cv.method, t1=dataset.t1, **params)

    def sample_weight(self, dataset: Dataset) -> np.ndarray | None:
        """Average-uniqueness weights when ``cv.sample_weight: uniqueness``."""
        if self.config.cv.sample_weight == "none":
            return None
        weights = uniqueness_weights(dataset.X.index, dataset.t1)
        return np.asarray(weights, dtype=float)

    def scoring(self, dataset: Dataset) -> list[str]:
        """The configured scorers, or the task's defaults; the first is the headline."""
        n_classes = len(dataset.classes) if dataset.classes else None
        return list(self.config.cv.scoring or default_scoring(dataset.kind, n_classes))

    def estimator(self, kind: str) -> Any:
        """An unfitted estimator of the configured type for the label's task."""
        model = self.config.model
        params = dict(model.params)
        if model.params_source == "optimized":  # the promoted best of `mltrainer tune`
            from mltrainer.tuning import load_best_params

            self.params_origin = load_best_params(self.config)
            params.update(self.params_origin["params"])
        return make_model(model.type, kind, params, random_state=self.config.seed)

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> TrainResult:
        """Load, build the dataset, cross-validate, fit on all rows and register the model."""
        config = self.config
        kind = label_kind(config.label)
        estimator = self.estimator(kind)  # refuse a bad type or parameter before loading data
        timings: dict[str, float] = {}
        stages = ("load", "dataset", "cross-validate", "fit", "save")

        start = time.perf_counter()
        self._report("load", 0, len(stages))
        bars = self.load()
        timings["load"] = time.perf_counter() - start

        start = time.perf_counter()
        self._report("dataset", 1, len(stages))
        dataset = self.dataset(bars)
        timings["dataset"] = time.perf_counter() - start
        logger.info("dataset: %d rows x %d features", len(dataset.X), dataset.X.shape[1])

        splitter = self.splitter(dataset)
        scoring = self.scoring(dataset)
        weights = self.sample_weight(dataset)
        selection = TrainerSelection(  # method none: CV and fit use the plain model
            config.selection,
            estimator,
            t1=dataset.t1,
            splitter=splitter,
            seed=config.seed,
            n_features=dataset.X.shape[1],
        )

        start = time.perf_counter()
        self._report("cross-validate", 2, len(stages))
        cv_result = cross_validate(
            selection.cv_estimator(),
            dataset.X,
            dataset.y,
            cv=splitter,
            t1=dataset.t1,
            scoring=scoring,
            sample_weight=weights,
            n_jobs=config.cv.n_jobs,
            return_estimators=selection.enabled,
            on_fold=lambda fold, total: self._report(
                f"cv fold {fold.fold + 1}/{total}", 2, len(stages)
            ),
        )
        timings["cross_validate"] = time.perf_counter() - start

        start = time.perf_counter()
        self._report("fit", 3, len(stages))
        if selection.enabled:  # select on all rows; the saved model sees those columns only
            dataset = replace(dataset, X=selection.fit_final(dataset.X, dataset.y, cv_result))
        final = clone(estimator)
        fit_kwargs = fit_params(final, weights)
        final.fit(dataset.X, dataset.y, **fit_kwargs)
        timings["fit"] = time.perf_counter() - start

        self._report("save", 4, len(stages))
        cv_info = _cv_info(config, splitter, cv_result)
        mean_scores, std_scores = _score_summary(cv_result, scoring)
        version = self._save(
            final, bars, dataset, cv_result, cv_info, mean_scores, timings, selection.metadata
        )
        self._record(version, mean_scores, cv_info)
        self._report("done", len(stages), len(stages))

        return TrainResult(
            name=version.name,
            version=version.version,
            path=version.path,
            folds=cv_result.folds,
            mean_scores=mean_scores,
            std_scores=std_scores,
            predictions=cv_result.predictions,
            probabilities=cv_result.probabilities,
            feature_names=dataset.feature_names,
            n_rows=len(dataset.X),
            cv=cv_info,
            timings=timings,
        )

    def _save(
        self,
        model: Any,
        bars: pd.DataFrame,
        dataset: Dataset,
        cv_result: CVResult,
        cv_info: dict[str, Any],
        mean_scores: dict[str, float],
        timings: dict[str, float],
        selection: dict[str, Any] | None = None,
    ) -> ModelVersion:
        config = self.config
        effective = config.model_dump(mode="json")
        effective["features"] = self.feature_spec
        params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
        metadata: dict[str, Any] = {
            "config": effective,
            "model_type": config.model.type,
            "params": {k: v for k, v in params.items() if _is_plain(v)},
            "params_source": config.model.params_source,
            **({"params_origin": self.params_origin} if self.params_origin else {}),
            "task": dataset.kind,
            "label": {
                **config.label,
                "kind": dataset.kind,
                "classes": dataset.classes,
                "horizon": label_horizon(config.label),
            },
            "features": {
                "spec": self.feature_spec,
                "names": dataset.feature_names,
                "dtypes": {c: str(t) for c, t in dataset.X.dtypes.items()},
            },
            "data": {
                **data_fingerprint(bars),
                "source": config.data.source,
                "training_rows": len(dataset.X),
                "dropped_rows": dataset.n_dropped,
                "first_t0": dataset.X.index[0].isoformat(),
                "last_t1": dataset.t1.max().isoformat(),
            },
            "cv": cv_info,
            "scores": {
                "mean": mean_scores,
                "folds": _records(cv_result.folds),
                **(
                    {"paths": _records(cv_result.path_scores)}
                    if cv_result.path_scores is not None
                    else {}
                ),
            },
            "timings": timings,
            **({"selection": selection} if selection is not None else {}),
        }
        # monitoring reference (profile.json + paired OOF sample), saved with the version
        from mltrainer.monitor import training_reference_files  # lazy: scipy, river

        reference = training_reference_files(
            dataset, cv_result, metrics=mean_scores, random_state=config.seed
        )
        registry = ModelRegistry(config.registry.root)
        return registry.save(
            config.name,
            model,
            feature_names=dataset.feature_names,
            metadata=metadata,
            extra_files=reference,
        )

    def _record(
        self, version: ModelVersion, mean_scores: dict[str, float], cv_info: dict[str, Any]
    ) -> None:
        """Append the run's scores to the store's history of this model."""
        store_config = self.config.store
        with open_store(store_config.url, prefix=store_config.prefix) as store:
            entry = {
                "version": version.version,
                "scores": mean_scores,
                "cv": cv_info["method"],
                "path": str(version.path),
            }
            store.append(train_scores_series(version.name), entry)
            store.put(train_latest_key(version.name), entry)


def _is_plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None:
        return []
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda t: t.isoformat() if pd.notna(t) else None)
    return [
        {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in out.to_dict(orient="records")
    ]


def _score_summary(
    cv_result: CVResult, scoring: list[str]
) -> tuple[dict[str, float], dict[str, float]]:
    folds = cv_result.folds
    mean = {name: float(folds[name].mean()) for name in scoring if name in folds}
    std = {name: float(folds[name].std(ddof=1)) for name in scoring if name in folds}
    return mean, std


def _cv_info(config: Config, splitter: Any, cv_result: CVResult) -> dict[str, Any]:
    folds = cv_result.folds
    embargo = getattr(splitter, "embargo", None)
    return {
        "method": config.cv.method,
        "splitter": repr(splitter).split("(")[0],
        "n_splits": len(folds),
        "embargo": str(embargo) if embargo is not None else None,
        "gap": getattr(splitter, "gap", None),
        "n_purged": int(folds["n_purged"].sum()) if "n_purged" in folds else 0,
        "n_embargoed": int(folds["n_embargoed"].sum()) if "n_embargoed" in folds else 0,
        "sample_weight": config.cv.sample_weight,
    }
