"""Nested purged CV of the tuning procedure: what a tuned model can be expected to score.

The best trial's mean score is measured on the folds its params were picked on: the more
trials, the more optimistic. Nested evaluation repeats the whole procedure inside each
outer training fold of the configured splitter: a new study on the outer training rows
(the same splitter realigned to them, so purge and embargo hold inside), its best params
fitted on those rows and scored on the outer test fold, which the inner study never saw.
The mean of those outer scores is an out-of-sample estimate of "tune, then train"; the
fixed config is scored on the same outer folds beside it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from mltrainer.config import Config
from mltrainer.cv import build_scorers, fit_fold, resolve_cv
from mltrainer.exceptions import ConfigError, MltrainerError
from mltrainer.pipeline import Plan
from mltrainer.tuning._objective import Objective, TrialFailed
from mltrainer.tuning._overfit import paired_gain_test
from mltrainer.tuning._results import plain
from mltrainer.tuning._sampling import fixed_values, make_pruner, make_sampler
from mltrainer.tuning._space import clip_to_space

__all__ = ["NestedFold", "NestedResult", "inner_plan", "nested_evaluation"]

logger = logging.getLogger("mltrainer")

#: Offset of the inner studies' sampler seeds (outer fold k uses seed + OFFSET * (k + 1)).
_SEED_OFFSET = 7919


@dataclass
class NestedFold:
    """One outer fold: the inner study's choice and what it scored out of sample.

    ``inner_score`` is the inner study's best mean (optimistic, like any best trial);
    ``outer_score`` the chosen params fitted on the outer training rows and scored on the
    outer test fold; ``fixed_score`` the fixed config on the same fold.
    """

    fold: int
    best_params: dict[str, Any]
    inner_score: float
    outer_score: float
    fixed_score: float
    n_train: int
    n_test: int
    n_trials: int
    seconds: float


@dataclass
class NestedResult:
    """The tuning procedure's out-of-sample estimate from nested purged CV.

    ``score`` (mean outer score) is the expected score of tuned params on data the tuning
    never saw; ``inner_score`` (mean inner best) shows how optimistic a study's own best
    is; ``gain`` and ``p_value`` compare ``score`` with the fixed config's outer folds
    (paired, one-sided).
    """

    scorer: str
    n_trials: int
    folds: list[NestedFold] = field(default_factory=list)
    score: float = float("nan")
    inner_score: float = float("nan")
    fixed_score: float = float("nan")
    gain: float = float("nan")
    p_value: float = float("nan")

    @property
    def fold_scores(self) -> list[float]:
        """Outer score of each fold."""
        return [f.outer_score for f in self.folds]

    @property
    def fixed_fold_scores(self) -> list[float]:
        """The fixed config's score on each outer fold."""
        return [f.fixed_score for f in self.folds]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN becomes None)."""
        return plain(asdict(self))


def inner_plan(plan: Plan, rows: np.ndarray) -> Plan:
    """The plan restricted to row positions ``rows``, its splitter realigned to them.

    The splitter keeps its settings (folds, embargo, purging) and is given the label end
    times of the kept rows, so an inner cross-validation purges and embargoes inside them
    exactly as the outer one does on all rows.
    """
    data = plan.dataset
    X, t1 = data.X.iloc[rows], data.t1.iloc[rows]
    dataset = replace(
        data,
        X=X,
        y=data.y.iloc[rows],
        t1=t1,
        symbols=None if data.symbols is None else data.symbols.iloc[rows],
    )
    weight = None if plan.sample_weight is None else plan.sample_weight[rows]
    return replace(
        plan, dataset=dataset, splitter=resolve_cv(plan.splitter, X, t1), sample_weight=weight
    )


def _inner_study(
    plan: Plan, n_trials: int, fold: int, n_jobs: int | None
) -> tuple[dict[str, Any], float, int]:
    """Tune on ``plan``'s rows in memory; return the best params, their score, trials run."""
    config = plan.config
    objective = Objective(config, n_jobs=n_jobs, plan=plan)
    study = optuna.create_study(
        direction="maximize",
        sampler=make_sampler(config, worker=_SEED_OFFSET * (fold + 1)),
        pruner=make_pruner(config),
    )
    fixed = clip_to_space(fixed_values(config, objective.kind), objective.space)
    study.enqueue_trial(fixed, user_attrs={"role": "fixed"})
    study.optimize(objective, n_trials=n_trials, catch=(TrialFailed,))
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise MltrainerError(
            f"nested tuning: the inner study of outer fold {fold} completed no trial;"
            " give more --nested-trials or check the search space"
        )
    best = max(complete, key=lambda t: float(t.value or -np.inf))
    ran = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
    return dict(best.params), float(best.value or np.nan), ran


def nested_evaluation(
    config: Config,
    *,
    n_trials: int | None = None,
    plan: Plan | None = None,
    n_jobs: int | None = 1,
    on_fold: Callable[[NestedFold, int], None] | None = None,
) -> NestedResult:
    """Estimate the tuned model's out-of-sample score by nested purged cross-validation.

    For each split of the configured (outer) splitter: an in-memory Optuna study of
    ``n_trials`` trials (the fixed config first) on the outer training rows, scored by
    the same splitter realigned to those rows; its best params and the fixed config are
    then fitted on the outer training rows (through the fold loop's ``fit_fold``, with the
    plan's weights and resampling hook) and scored on the outer test fold.

    Parameters
    ----------
    config : Config
        The run's config (model, search space, cv, pruner, seed).
    n_trials : int, optional
        Trials per inner study (default ``tuning.nested_trials``).
    plan : Plan, optional
        A plan already built from ``config`` (its data are reused).
    n_jobs : int or None, default 1
        Threads per model fit.
    on_fold : callable, optional
        ``on_fold(fold, n_outer)`` after each outer fold (progress).

    Returns
    -------
    NestedResult

    Raises
    ------
    ConfigError
        For ``n_trials < 1``, before any fit.
    """
    n_trials = n_trials if n_trials is not None else config.tuning.nested_trials
    if n_trials < 1:
        raise ConfigError(f"tuning.nested_trials: must be at least 1, got {n_trials}")
    plan = plan if plan is not None else Plan.from_config(config)
    name = config.tuning.scoring or plan.scoring[0]  # what the Objective optimises
    data = plan.dataset
    outer = resolve_cv(plan.splitter, data.X, data.t1)
    splits = list(outer.split_with_info(data.X))
    result = NestedResult(scorer=name, n_trials=n_trials)
    for k, info in enumerate(splits):
        begin = time.perf_counter()
        chosen, inner_score, ran = _inner_study(inner_plan(plan, info.train), n_trials, k, n_jobs)
        scores = []
        for params in (chosen, {}):
            estimator = plan.estimator(params, threads=n_jobs)
            fold = fit_fold(
                estimator,
                data.X,
                data.y,
                train=info.train,
                test=info.test,
                sample_weight=plan.sample_weight,
                t1=data.t1,
                resampler=plan.resampler,
                scorers=build_scorers(estimator, name),
                fold=k,
                predict=False,
            )
            scores.append(fold.scores[name])
        entry = NestedFold(
            fold=k,
            best_params=chosen,
            inner_score=inner_score,
            outer_score=scores[0],
            fixed_score=scores[1],
            n_train=int(info.train.size),
            n_test=int(info.test.size),
            n_trials=ran,
            seconds=time.perf_counter() - begin,
        )
        result.folds.append(entry)
        logger.info(
            "nested fold %d/%d: inner best %.4f, outer %.4f (fixed %.4f)",
            k + 1,
            len(splits),
            inner_score,
            entry.outer_score,
            entry.fixed_score,
        )
        if on_fold is not None:
            on_fold(entry, len(splits))
    result.score = float(np.mean(result.fold_scores))
    result.inner_score = float(np.mean([f.inner_score for f in result.folds]))
    result.fixed_score = float(np.mean(result.fixed_fold_scores))
    result.gain, result.p_value = paired_gain_test(
        np.array(result.fold_scores), np.array(result.fixed_fold_scores)
    )
    return result
