"""The Trainer: config in, registry entry and report out, on the training plan."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.augment import AugmentationReport, compare_augmentation
from mltrainer.config import Config
from mltrainer.cv import CVResult
from mltrainer.data import data_fingerprint
from mltrainer.ensemble import EnsembleReport, compare_on_folds, describe, is_ensemble
from mltrainer.exceptions import StoreError
from mltrainer.explain import training_explanations
from mltrainer.labels import label_horizon
from mltrainer.monitor import proba_columns, training_reference_files
from mltrainer.pipeline._dataset import Dataset
from mltrainer.pipeline._destinations import check_destinations
from mltrainer.pipeline._plan import FinalFit, Plan
from mltrainer.registry import ModelRegistry, ModelVersion
from mltrainer.store import (
    Batch,
    TrainScores,
    open_store,
    train_latest_key,
    train_scores_series,
)

__all__ = ["ProgressCallback", "TrainResult", "Trainer"]

logger = logging.getLogger("mltrainer")

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while a run advances."""

_STAGES = ("load", "dataset", "cross-validate", "fit", "save")


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
    ensemble: EnsembleReport | None = None
    augmentation: AugmentationReport | None = None

    @property
    def headline(self) -> tuple[str, float]:
        """The first scorer and its mean over folds."""
        key = next(iter(self.mean_scores))
        return key, self.mean_scores[key]


class Trainer:
    """Run one training job described by a :class:`~mltrainer.config.Config`.

    The run builds the :class:`~mltrainer.pipeline.Plan`, cross-validates the plan's
    estimator, fits it on every row, saves the version (model, metadata, monitoring
    reference) and records its scores in the store.

    Parameters
    ----------
    config : Config
        Validated configuration (see :func:`mltrainer.load_config`).
    progress : callable, optional
        ``progress(stage, done, total)``; the CLI draws progress bars with it.
    parent : int, optional
        The registry version this run retrains (recorded as the new version's parent).
    """

    def __init__(
        self,
        config: Config,
        *,
        progress: ProgressCallback | None = None,
        parent: int | None = None,
    ) -> None:
        self.config = config
        self.progress = progress
        self.parent = parent

    def _report(self, stage: str, done: int, total: int = len(_STAGES)) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def plan(self) -> Plan:
        """Validate the config, load the data and build the plan (no model is fitted)."""
        return Plan.from_config(
            self.config, progress=lambda stage: self._report(stage, _STAGES.index(stage))
        )

    def run(self) -> TrainResult:
        """Build the plan, cross-validate, fit on all rows and register the model."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        check_destinations(self.config)  # registry and store, before any data is loaded
        plan = self.plan()
        timings["load"] = time.perf_counter() - start

        start = time.perf_counter()
        self._report("cross-validate", 2)
        selection_on = plan.selection(plan.model()).enabled
        ensemble_on = is_ensemble(self.config.model)
        explain_on = self.config.explain.global_rows_per_fold > 0  # each fold explains its test
        cv_result = plan.cross_validate(
            return_estimators=selection_on or ensemble_on or explain_on,
            on_fold=lambda fold, total: self._report(f"cv fold {fold.fold + 1}/{total}", 2),
        )
        report = _ensemble_report(plan, cv_result) if ensemble_on else None
        augmentation = None
        if plan.resampler is not None:  # the same folds without the resampler, to compare
            real = replace(plan, resampler=None).cross_validate(return_estimators=selection_on)
            augmentation = compare_augmentation(
                real,
                cv_result,
                y=plan.dataset.y,
                t1=plan.dataset.t1,
                method=self.config.augment.method,
                recalibrate=self.config.augment.value("recalibrate"),
                classification=plan.kind == "classification",
                augmenter=plan.resampler,
            )
        timings["cross_validate"] = time.perf_counter() - start

        start = time.perf_counter()
        self._report("fit", 3)
        final = plan.fit_final(cv_result)
        if augmentation is not None:  # the classifier plus its calibration map, if any
            model = augmentation.final_model(final.model, final.dataset.X, final.dataset.y)
            final = replace(final, model=model)
        timings["fit"] = time.perf_counter() - start

        self._report("save", 4)
        cv_info = _cv_info(plan, cv_result)
        mean_scores, std_scores = _score_summary(cv_result, plan.scoring)
        version = self._save(
            plan,
            final,
            cv_result,
            cv_info,
            mean_scores,
            timings,
            report,
            augmentation=augmentation,
        )
        try:
            self._record(version, mean_scores, cv_info)
        except Exception as exc:  # the version is saved: say which, so nobody retrains
            raise StoreError(
                f"saved {version.name} version {version.version} to {version.path}, but"
                f" recording its scores in the store failed: {exc}; the version is complete"
                " (its scores are in its metadata): fix the store, no need to train again"
            ) from exc
        self._report("done", len(_STAGES))
        return TrainResult(
            name=version.name,
            version=version.version,
            path=version.path,
            folds=cv_result.folds,
            mean_scores=mean_scores,
            std_scores=std_scores,
            predictions=cv_result.predictions,
            probabilities=cv_result.probabilities,
            feature_names=final.dataset.feature_names,
            n_rows=len(final.dataset.X),
            cv=cv_info,
            timings=timings,
            ensemble=report,
            augmentation=augmentation,
        )

    def _save(
        self,
        plan: Plan,
        final: FinalFit,
        cv_result: CVResult,
        cv_info: dict[str, Any],
        mean_scores: dict[str, float],
        timings: dict[str, float],
        report: EnsembleReport | None = None,
        *,
        augmentation: AugmentationReport | None = None,
    ) -> ModelVersion:
        config = self.config
        dataset = final.dataset
        effective = config.model_dump(mode="json")
        effective["features"] = plan.feature_spec
        model = final.model
        params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
        metadata: dict[str, Any] = {
            "config": effective,
            "model_type": config.model.type,
            "params": {k: v for k, v in params.items() if _is_plain(v)},
            "params_source": config.model.params_source,
            **({"params_origin": plan.params_origin} if plan.params_origin else {}),
            "task": dataset.kind,
            "label": {
                **config.label,
                "kind": dataset.kind,
                "classes": dataset.classes,
                "horizon": label_horizon(config.label),
            },
            "features": {
                "spec": plan.feature_spec,
                "names": dataset.feature_names,
                "dtypes": {c: str(t) for c, t in dataset.X.dtypes.items()},
            },
            "data": {
                **data_fingerprint(plan.bars),
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
                **_tuning_note(plan.params_origin),
                **(
                    {"paths": _records(cv_result.path_scores)}
                    if cv_result.path_scores is not None
                    else {}
                ),
            },
            "timings": timings,
            **({"selection": final.selection} if final.selection is not None else {}),
            **(
                {
                    "ensemble": {
                        "combine": config.model.combine,
                        **describe(model),
                        **report.to_metadata(),
                    }
                }
                if report is not None
                else {}
            ),
        }
        reference = training_reference_files(  # monitoring reference, saved with the version
            plan.dataset.X,
            oof_frame(plan.dataset, cv_result),
            kind=dataset.kind,
            metrics=mean_scores,
            random_state=config.seed,
        )
        if augmentation is not None:  # the comparison; a GAN's generator and gate figures
            metadata["augment"] = {
                **augmentation.metadata(),
                "n_synthetic_final": final.n_synthetic,
            }
            reference.update(getattr(plan.resampler, "extra_files", dict)())
        # explanations: out-of-fold global attributions, training background and statistics
        metadata["explain"], explain_files = training_explanations(
            X=plan.dataset.X,
            final_X=dataset.X,
            cv_result=cv_result,
            splits=plan.splitter.split(plan.dataset.X),
            classes=dataset.classes,
            settings=config.explain,
            seed=config.seed,
        )
        registry = ModelRegistry(config.registry.root)
        return registry.save(
            config.name,
            model,
            feature_names=dataset.feature_names,
            metadata=metadata,
            extra_files={**reference, **explain_files},
            parent=self.parent,
        )

    def _record(
        self, version: ModelVersion, mean_scores: dict[str, float], cv_info: dict[str, Any]
    ) -> None:
        """Append the run's scores to the store's history of this model."""
        store_config = self.config.store
        entry = TrainScores(
            version=version.version,
            scores=mean_scores,
            cv=cv_info["method"],
            path=str(version.path),
        ).to_dict()
        batch = Batch().append(train_scores_series(version.name), entry)
        with open_store(store_config.url, prefix=store_config.prefix) as store:
            store.write(batch.put(train_latest_key(version.name), entry))  # both or neither


def _tuning_note(origin: dict[str, Any] | None) -> dict[str, Any]:
    """``in_sample_to_tuning``: tuned params were picked on these CV folds, so the scores
    are optimistic; ``nested_estimate``: the tuning's out-of-sample estimate, when known."""
    if origin is None:
        return {"in_sample_to_tuning": False}
    nested = origin.get("nested_score")
    estimate = {"score": nested, "scorer": origin.get("scorer"), "study": origin.get("study")}
    return {
        "in_sample_to_tuning": True,
        **({"nested_estimate": estimate} if nested is not None else {}),
    }


def _ensemble_report(plan: Plan, cv_result: CVResult) -> EnsembleReport:
    """Each member and the equal-weight average on the ensemble's outer folds."""
    report = compare_on_folds(
        cv_result,
        plan.dataset.X,
        plan.dataset.y,
        cv=plan.splitter,
        scoring=plan.scoring,
        t1=plan.dataset.t1,
        sample_weight=plan.sample_weight,
        resampler=plan.resampler,
    )
    logger.info("ensemble: %s", report.verdict)
    return report


def oof_frame(dataset: Dataset, cv_result: CVResult) -> pd.DataFrame:
    """Out-of-fold ``label``, ``prediction`` and ``proba_<class>`` of the first path.

    Indexed like ``dataset.X``; rows never tested hold NaN.
    """
    index = dataset.X.index
    label = dataset.y.to_numpy(dtype=float)
    pred = cv_result.predictions["path_0"].to_numpy(dtype=float)
    out = pd.DataFrame(index=index)
    classes = dataset.classes
    if classes:
        values = np.asarray(classes, dtype=float)
        out["label"] = values[label.astype(np.int64)]
        codes = np.where(np.isnan(pred), 0, pred).astype(np.int64)
        out["prediction"] = np.where(
            np.isnan(pred), np.nan, values[np.clip(codes, 0, len(values) - 1)]
        )
        proba = cv_result.probabilities
        if proba is not None:
            if isinstance(proba.columns, pd.MultiIndex):
                proba = proba["path_0"]
            block = proba.to_numpy(dtype=float)
            for j, name in enumerate(f"proba_{value:g}" for value in classes):
                if name in proba_columns(classes):
                    out[name] = block[:, j]
    else:
        out["label"] = label
        out["prediction"] = pred
    return out


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


def _cv_info(plan: Plan, cv_result: CVResult) -> dict[str, Any]:
    config, splitter = plan.config, plan.splitter
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
