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

from mltrainer.config import Config
from mltrainer.cv import CVResult, FoldResult, build_scorers
from mltrainer.exceptions import MltrainerError
from mltrainer.pipeline import Dataset, Plan
from mltrainer.tuning._space import model_search_space, suggest_params
from mltrainer.tuning._storage import HEARTBEAT_ATTR, WORKER_ATTR

__all__ = ["FoldOutcome", "Objective", "TrialFailed", "forward_returns"]

#: Number of equal time blocks the out-of-fold signal returns are summarised in (for PBO).
N_BLOCKS = 16
#: Number of equal time blocks of the signal-return series the SPA test bootstraps.
N_SERIES_BLOCKS = 128
#: Labels whose sign is no trading direction: their "signal returns" would measure the
#: market, not the model, so none are computed.
UNSIGNED_LABELS = frozenset({"forward_volatility"})


class TrialFailed(Exception):  # noqa: N818 (Optuna's vocabulary: a trial fails)
    """A model could not be fitted with a trial's params: that trial fails, the study goes on.

    Only this is in Optuna's ``catch=``: an :class:`~mltrainer.exceptions.MltrainerError`
    (a bad setting, bad data) stops the study at once instead of failing every trial.
    """


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


def _block_means(values: np.ndarray, n_blocks: int) -> list[float]:
    return [float(b.mean()) for b in np.array_split(values, min(n_blocks, values.size))]


def _return_stats(signal: np.ndarray) -> dict[str, Any]:
    """Sharpe (per label period), skewness, kurtosis and block means of signal returns.

    ``blocks`` (16 time blocks) feed PBO, ``series`` (128 time blocks) the SPA test.
    """
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
        "series": _block_means(r, N_SERIES_BLOCKS),
    }


class Objective:
    """Cross-validated score of one parameter set; an Optuna objective when called.

    The objective evaluates exactly what ``mltrainer train`` cross-validates: the training
    plan's estimator (selection refitted in each fold, the resampling hook, the model) on
    the plan's splits and weights, through the one fold loop. After each fold the trial
    reports to the pruner: the running mean (MedianPruner) or the fold's own score
    (WilcoxonPruner, which compares trials fold by fold). Fold scores and signal-return
    statistics (Sharpe, skewness, kurtosis, 16 block means for PBO and 128 for the SPA
    test) are kept as the trial's user attributes; labels without a trading direction
    (``forward_volatility``) get no signal returns.

    Parameters
    ----------
    config : Config
        The run's configuration (model type, fixed params, cv, seed, tuning section).
    n_jobs : int, optional
        Threads per model fit (sets the catalogue entry's thread parameter so workers
        share cores); never part of the tuned parameters.
    plan : Plan, optional
        A plan already built from ``config`` (its data are reused).
    """

    def __init__(
        self, config: Config, *, n_jobs: int | None = None, plan: Plan | None = None
    ) -> None:
        self.config = config
        self.n_jobs = n_jobs
        self.plan = plan if plan is not None else Plan.from_config(config)
        self.dataset = self.plan.dataset
        self.kind = self.dataset.kind
        self.space: dict[str, BaseDistribution] = model_search_space(
            config.model, config.tuning.search_space, task=self.kind
        )
        self.scorer_name = config.tuning.scoring or self.plan.scoring[0]
        unsigned = config.label.get("name") in UNSIGNED_LABELS
        self.returns = None if unsigned else forward_returns(self.plan.bars, self.dataset)
        self.wilcoxon = config.tuning.pruner == "wilcoxon"
        build_scorers(self.estimator({}), self.scorer_name)  # a bad scorer fails now

    def estimator(self, params: dict[str, Any]) -> Any:
        """The plan's estimator with ``params`` over the config's fixed params."""
        return self.plan.estimator(params, threads=self.n_jobs)

    def evaluate(self, params: dict[str, Any], trial: optuna.Trial | None = None) -> FoldOutcome:
        """Cross-validate ``params``; report each fold to ``trial`` and prune if told."""
        scores: list[float] = []

        def on_fold(fold: FoldResult, total: int) -> None:
            scores.append(fold.scores[self.scorer_name])
            if trial is None:
                return
            trial.set_user_attr(HEARTBEAT_ATTR, time.time())
            trial.report(scores[-1] if self.wilcoxon else float(np.mean(scores)), fold.fold)
            if trial.should_prune():
                trial.set_user_attr("fold_scores", scores)
                raise optuna.TrialPruned(f"pruned after fold {fold.fold + 1}/{total}")

        result = self.plan.cross_validate(
            self.estimator(params), scoring=[self.scorer_name], on_fold=on_fold
        )
        stats = {}
        if self.returns is not None:
            signal = self._positions(result) * self.returns
            order = np.argsort(self.dataset.X.index.to_numpy(), kind="stable")
            stats = _return_stats(signal[order])
        return FoldOutcome(scores, stats)

    def _positions(self, result: CVResult) -> np.ndarray:
        """Long/short position of each row (first path): the sign of the expected label."""
        proba = result.probabilities
        if proba is not None:
            if isinstance(proba.columns, pd.MultiIndex):
                proba = proba["path_0"]
            block = proba.to_numpy(dtype=float)
            values = np.asarray(self.dataset.classes or [0.0, 1.0], dtype=float)
            values = values[np.asarray(proba.columns, dtype=np.int64)]
            if len(values) == 2 and values.min() >= 0:  # 0/1 direction: up vs down
                return np.where(block[:, -1] > 0.5, 1.0, -1.0)
            return np.sign(block @ values)
        predictions = result.predictions["path_0"].to_numpy(dtype=float)
        if self.dataset.classes:
            values = np.asarray(self.dataset.classes, dtype=float)
            codes = np.where(np.isnan(predictions), 0, predictions).astype(np.int64)
            return np.where(np.isnan(predictions), np.nan, np.sign(values[codes]))
        return np.sign(predictions)

    def __call__(self, trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")
        params = suggest_params(trial, self.space)
        try:
            outcome = self.evaluate(params, trial)
        except MltrainerError:
            raise
        except (ValueError, ArithmeticError) as exc:  # the model failed on these params
            raise TrialFailed(f"{type(exc).__name__}: {exc}") from exc
        trial.set_user_attr("fold_scores", outcome.fold_scores)
        if outcome.returns:
            trial.set_user_attr("returns", outcome.returns)
        return outcome.mean
