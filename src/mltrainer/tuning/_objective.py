"""The objective: mean out-of-fold score over the configured purged splitter, fold by fold."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import BaseDistribution
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring

from mltrainer.config import Config
from mltrainer.cv import fit_params
from mltrainer.models import make_model
from mltrainer.pipeline import Dataset, Trainer
from mltrainer.tuning._space import search_space, suggest_params
from mltrainer.tuning._storage import HEARTBEAT_ATTR, WORKER_ATTR

__all__ = ["FoldOutcome", "Objective", "forward_returns"]

#: Number of equal time blocks the out-of-fold signal returns are summarised in (for PBO).
N_BLOCKS = 16


@dataclass
class FoldOutcome:
    """What one parameter set scored: fold scores and out-of-fold signal-return statistics."""

    fold_scores: list[float]
    returns: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_scores))


def forward_returns(bars: pd.DataFrame, dataset: Dataset) -> np.ndarray | None:
    """Simple return of ``close`` from t0 to t1 for each dataset row (None for panels)."""
    if dataset.symbols is not None or "close" not in bars.columns:
        return None
    close = bars["close"]
    close = close[~close.index.duplicated(keep="last")]
    at_t0 = close.reindex(dataset.X.index).to_numpy(dtype=float)
    at_t1 = close.reindex(pd.DatetimeIndex(dataset.t1)).to_numpy(dtype=float)
    out = at_t1 / at_t0 - 1.0
    return out if np.isfinite(out).mean() > 0.9 else None


def _return_stats(signal: np.ndarray) -> dict[str, Any]:
    """Sharpe (per label period), skewness, kurtosis and block means of signal returns."""
    r = signal[np.isfinite(signal)]
    if r.size < 3:
        return {}
    std = float(r.std(ddof=1))
    z = (r - r.mean()) / (r.std() or 1.0)
    blocks = np.array_split(r, min(N_BLOCKS, r.size))
    return {
        "n": int(r.size),
        "mean": float(r.mean()),
        "sharpe": float(r.mean() / std) if std > 0 else 0.0,
        "skew": float(np.mean(z**3)),
        "kurtosis": float(np.mean(z**4)),
        "blocks": [float(b.mean()) for b in blocks],
    }


class Objective:
    """Cross-validated score of one parameter set; an Optuna objective when called.

    The splits are computed once from the config's splitter (purged, embargoed) and every
    trial fits on exactly the same training rows. After each fold the trial reports to the
    pruner: the running mean (MedianPruner) or the fold's own score (WilcoxonPruner, which
    compares trials fold by fold). Fold scores and signal-return statistics are kept as the
    trial's user attributes.

    Parameters
    ----------
    config : Config
        The run's configuration (model type, fixed params, cv, seed, tuning section).
    n_jobs : int, optional
        Threads per model fit (overrides the model's ``n_jobs`` so workers share cores);
        never part of the tuned parameters.
    """

    def __init__(self, config: Config, *, n_jobs: int | None = None) -> None:
        self.config = config
        self.n_jobs = n_jobs
        trainer = Trainer(config)
        bars = trainer.load()
        self.dataset = trainer.dataset(bars)
        self.kind = self.dataset.kind
        self.space: dict[str, BaseDistribution] = search_space(
            config.model.type, config.tuning.search_space, task=self.kind
        )
        self.scorer_name = config.tuning.scoring or trainer.scoring(self.dataset)[0]
        splitter = trainer.splitter(self.dataset)
        X = self.dataset.X
        if hasattr(splitter, "split_with_info"):
            self.splits = [(i.train, i.test) for i in splitter.split_with_info(X)]
        else:
            self.splits = list(splitter.split(X))
        self.weights = trainer.sample_weight(self.dataset)
        self.returns = forward_returns(bars, self.dataset)
        self.base_params = dict(config.model.params)
        self.scorer = check_scoring(self.estimator({}), scoring=self.scorer_name)
        self.wilcoxon = config.tuning.pruner == "wilcoxon"

    def estimator(self, params: dict[str, Any]) -> Any:
        """The configured model with ``params`` over the config's fixed params."""
        merged = {**self.base_params, **params}
        if self.n_jobs is not None and self.config.model.type in {
            "xgboost",
            "lightgbm",
            "random_forest",
        }:
            merged["n_jobs"] = self.n_jobs
        return make_model(self.config.model.type, self.kind, merged, random_state=self.config.seed)

    def evaluate(self, params: dict[str, Any], trial: optuna.Trial | None = None) -> FoldOutcome:
        """Fit and score ``params`` on every split; report to ``trial`` and prune if told."""
        X, y = self.dataset.X, self.dataset.y
        signal = np.full(len(X), np.nan)
        scores: list[float] = []
        for k, (train, test) in enumerate(self.splits):
            model = self.estimator(params)
            weights = None if self.weights is None else self.weights[train]
            fit_kwargs = fit_params(model, weights)
            model.fit(X.iloc[train], y.iloc[train], **fit_kwargs)
            X_test = X.iloc[test]
            scores.append(float(self.scorer(model, X_test, y.iloc[test])))
            if self.returns is not None:
                fresh = test[np.isnan(signal[test])]  # combinatorial: first path only
                signal[fresh] = self._positions(model, X.iloc[fresh]) * self.returns[fresh]
            if trial is not None:
                trial.set_user_attr(HEARTBEAT_ATTR, time.time())
                trial.report(scores[-1] if self.wilcoxon else float(np.mean(scores)), k)
                if trial.should_prune():
                    trial.set_user_attr("fold_scores", scores)
                    raise optuna.TrialPruned(f"pruned after fold {k + 1}/{len(self.splits)}")
        order = np.argsort(X.index.to_numpy(), kind="stable")
        stats = _return_stats(signal[order]) if self.returns is not None else {}
        return FoldOutcome(scores, stats)

    def _positions(self, model: Any, X_test: pd.DataFrame) -> np.ndarray:
        """Long/short position of each row: the sign of the expected label value."""
        if is_classifier(model) and hasattr(model, "predict_proba"):
            proba = model.predict_proba(X_test)
            classes = self.dataset.classes or [0.0, 1.0]
            values = np.asarray(classes, dtype=float)
            if len(values) == 2 and values.min() >= 0:  # 0/1 direction: up vs down
                return np.where(proba[:, -1] > 0.5, 1.0, -1.0)
            fitted = np.asarray(model.classes_, dtype=int)
            return np.sign(proba @ values[fitted])
        return np.sign(np.asarray(model.predict(X_test), dtype=float))

    def __call__(self, trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")
        params = suggest_params(trial, self.space)
        outcome = self.evaluate(params, trial)
        trial.set_user_attr("fold_scores", outcome.fold_scores)
        if outcome.returns:
            trial.set_user_attr("returns", outcome.returns)
        return outcome.mean
