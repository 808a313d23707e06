"""Run a study: create or join it, warm-start it, run worker processes, summarise, store."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from mltrainer.config import Config, config_from_dict
from mltrainer.exceptions import ConfigError, MltrainerError, StoreError
from mltrainer.labels import label_kind
from mltrainer.pipeline import check_destinations
from mltrainer.store import mask_password
from mltrainer.tuning._nested import nested_evaluation
from mltrainer.tuning._objective import FoldOutcome, Objective, TrialFailed
from mltrainer.tuning._overfit import probability_of_backtest_overfitting
from mltrainer.tuning._promotion import Evidence, promotion_test
from mltrainer.tuning._results import TuneResult, store_key, write_result
from mltrainer.tuning._sampling import fixed_values, make_pruner, make_sampler
from mltrainer.tuning._space import clip_to_space, model_search_space, space_to_distributions
from mltrainer.tuning._storage import fail_stale_trials, open_storage

__all__ = ["default_study_name", "make_pruner", "make_sampler", "tune"]

logger = logging.getLogger("mltrainer")

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def default_study_name(config: Config) -> str:
    """``tuning.study_name``, else ``<name>-<model type>``."""
    return config.tuning.study_name or f"{config.name}-{config.model.type}"


def _load_study(config: Config, storage: Any, study_name: str, worker: int = 0) -> optuna.Study:
    return optuna.create_study(
        study_name=study_name,
        storage=storage,
        sampler=make_sampler(config, worker),
        pruner=make_pruner(config),
        direction="maximize",
        load_if_exists=True,
    )


def _worker_main(
    raw_config: dict[str, Any],
    storage_url: str,
    study_name: str,
    n_trials: int,
    timeout: float | None,
    worker: int,
    n_jobs: int | None,
) -> None:
    """One worker process: optimise the shared study until it holds ``n_trials`` finished."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = config_from_dict(raw_config)
    objective = Objective(config, n_jobs=n_jobs)
    study = _load_study(config, open_storage(storage_url), study_name, worker)
    _optimize(study, objective, n_trials, timeout)


def _optimize(
    study: optuna.Study, objective: Objective, n_trials: int, timeout: float | None
) -> None:
    if len(study.get_trials(deepcopy=False, states=_FINISHED)) >= n_trials:
        return
    stop = optuna.study.MaxTrialsCallback(n_trials, states=_FINISHED)
    study.optimize(
        objective, n_trials=n_trials, timeout=timeout, callbacks=[stop], catch=(TrialFailed,)
    )


def tune(
    config: Config,
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    workers: int | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    warm_start: dict[str, Any] | None = None,
    write: bool = True,
    nested: bool | None = None,
    nested_trials: int | None = None,
) -> TuneResult:
    """Tune the configured model on purged CV with Optuna and record the outcome.

    Creates (or joins) the study, fails RUNNING trials left by dead workers, enqueues the
    fixed config and ``warm_start`` params when the study is new, runs ``workers``
    workers (this process and ``workers - 1`` spawned ones) until the study holds
    ``n_trials`` finished trials,
    then compares the best trial with the fixed config (a promotion test corrected for the
    number of trials, see :mod:`mltrainer.tuning._promotion`), optionally estimates the
    tuned model's out-of-sample score by nested purged CV, and writes the result to the
    store.

    Parameters
    ----------
    config : Config
        The run's config; its ``tuning`` section gives the defaults of the options below.
    n_trials, timeout, workers, storage, study_name
        Override ``tuning.n_trials`` (finished trials the study should hold),
        ``tuning.timeout`` (seconds per worker), ``tuning.workers``, ``tuning.storage``
        and ``tuning.study_name``.
    warm_start : dict, optional
        Params (e.g. the previous best) to enqueue as a trial of a new study.
    write : bool, default True
        Write the result to the configured store.
    nested : bool, optional
        Also run nested purged CV of the tuning procedure (default ``tuning.nested``):
        an inner study of ``nested_trials`` trials (default ``tuning.nested_trials``) in
        each outer training fold, its best params scored on the outer test fold. The
        result's ``nested_score`` is then the expected out-of-sample score of tuned params,
        beside the optimistic ``best_score``.

    Raises
    ------
    ConfigError, StoreError
        For a bad search space, an unreachable storage or (with ``write``) store,
        before any data is loaded or trial runs.
    """
    settings = config.tuning
    n_trials = n_trials or settings.n_trials
    nested = settings.nested if nested is None else nested
    nested_trials = nested_trials or settings.nested_trials
    if nested_trials < 1:
        raise ConfigError(f"tuning.nested_trials: must be at least 1, got {nested_trials}")
    timeout = timeout if timeout is not None else settings.timeout
    workers = workers or settings.workers
    url = storage or settings.storage
    name = study_name or default_study_name(config)
    kind = label_kind(config.label)
    space = model_search_space(config.model, settings.search_space, task=kind)  # fail early
    study_storage = open_storage(url)
    if write:  # the result goes to the store: check it before any data is loaded
        check_destinations(config, registry=False)
    if workers < 1:
        raise ConfigError(f"tuning.workers: must be at least 1, got {workers}")

    started = datetime.now(UTC)
    t_start = time.perf_counter()
    study = _load_study(config, study_storage, name)
    fail_stale_trials(study, stale_after=settings.stale_after)
    exact = fixed_values(config, kind)
    fixed = clip_to_space(exact, space)  # the nearest point of the space, enqueued first
    if not study.get_trials(deepcopy=False):
        study.enqueue_trial(fixed, user_attrs={"role": "fixed"}, skip_if_exists=True)
        if warm_start:
            previous = clip_to_space(warm_start, space)
            study.enqueue_trial(previous, user_attrs={"role": "previous_best"}, skip_if_exists=True)
    n_jobs = 1  # one thread per fit: workers are the parallelism (threads thrash under load)
    logger.info(
        "study %s on %s: %d trial(s), %d worker(s)", name, mask_password(url), n_trials, workers
    )
    objective = Objective(config, n_jobs=n_jobs)  # data errors surface before any worker
    if workers == 1:
        _optimize(study, objective, n_trials, timeout)
    else:
        # Enqueued trials run here first: two processes may both claim one WAITING trial on
        # SQLite (no row locks), and the second one's result would then be refused.
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if waiting:
            _optimize(study, objective, min(n_trials, len(study.trials)), timeout)
        run_here = lambda: _optimize(study, objective, n_trials, timeout)  # noqa: E731
        _run_workers(config, url, name, n_trials, timeout, workers, n_jobs, run_here)
    result = _summarise(config, study, objective, space, exact, url, name)
    if nested:
        logger.info("nested evaluation: %d trial(s) per inner study", nested_trials)
        estimate = nested_evaluation(
            config, n_trials=nested_trials, plan=objective.plan, n_jobs=n_jobs
        )
        result.nested = estimate.to_dict()
        result.nested_score = estimate.score if estimate.score == estimate.score else None
    finished = datetime.now(UTC)
    result.started = started.isoformat()
    result.finished = finished.isoformat()
    result.duration_s = time.perf_counter() - t_start
    if write:
        try:
            write_result(config, result)
        except MltrainerError as exc:  # the trials are kept: say where, and how to finish
            raise StoreError(
                f"study {name} in {mask_password(url)} holds its {result.n_trials} trials, but"
                f" writing the result to the store failed: {exc}; fix the store and rerun"
                " the same `mltrainer tune` (no new trial runs, the result is written)"
            ) from exc
    return result


def _run_workers(
    config: Config,
    url: str,
    name: str,
    n_trials: int,
    timeout: float | None,
    workers: int,
    n_jobs: int,
    run_here: Callable[[], None],
) -> None:
    """Start ``workers - 1`` spawned processes and run the last worker in this process
    (its data are loaded already), then wait for all of them."""
    context = multiprocessing.get_context("spawn")
    raw = config.model_dump(mode="json", exclude_unset=True)  # re-validated by workers
    procs = [
        context.Process(
            target=_worker_main,
            args=(raw, url, name, n_trials, timeout, worker, n_jobs),
            name=f"mltrainer-tune-{worker}",
        )
        for worker in range(1, workers)  # this process is worker 0
    ]
    for proc in procs:
        proc.start()
    try:
        run_here()
        for proc in procs:
            proc.join()
    except BaseException:
        for proc in procs:
            proc.terminate()
        raise
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise MltrainerError(
            f"{len(bad)} of {workers - 1} spawned tuning worker(s) failed (exit codes {bad});"
            " rerun with --workers 1 --debug to see the error"
        )


def _evidence(trial: FrozenTrial | FoldOutcome) -> Evidence:
    if isinstance(trial, FoldOutcome):
        return Evidence(list(trial.fold_scores), trial.returns or None)
    attrs = trial.user_attrs
    return Evidence(list(attrs.get("fold_scores", [])), attrs.get("returns") or None)


def _summarise(
    config: Config,
    study: optuna.Study,
    objective: Objective,
    space: dict[str, Any],
    fixed: dict[str, Any],
    url: str,
    name: str,
) -> TuneResult:
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        raise MltrainerError(
            f"study '{name}' has no completed trial; give more --trials or a longer --timeout"
        )
    best = max(complete, key=lambda t: float(t.value or -np.inf))
    fixed_trial = _exact_fixed_trial(complete, fixed, space)
    if fixed_trial is not None:
        fixed_evidence = _evidence(fixed_trial)
    else:  # the fixed config is not a point of the space: evaluate it directly
        fixed_evidence = _evidence(objective.evaluate({}))
    best_evidence = _evidence(best)
    n_tested = sum(t.state in _FINISHED for t in trials)
    significance = config.tuning.significance
    decision = promotion_test(
        best_evidence,
        fixed_evidence,
        [_evidence(t) for t in complete],
        n_tested=n_tested,
        significance=significance,
        seed=config.tuning.seed if config.tuning.seed is not None else config.seed,
    )
    result = TuneResult(
        study=name,
        storage=mask_password(url),
        scorer=objective.scorer_name,
        best_params=dict(best.params),
        best_score=float(best.value or np.nan),
        best_trial=best.number,
        best_fold_scores=list(best_evidence.fold_scores),
        fixed_score=float(np.mean(fixed_evidence.fold_scores)),
        fixed_fold_scores=list(fixed_evidence.fold_scores),
        gain=decision.gain,
        p_value=decision.p_value,
        significance=significance,
        promoted=decision.promoted,
        n_trials=len(trials),
        n_complete=len(complete),
        n_pruned=sum(t.state == TrialState.PRUNED for t in trials),
        n_failed=sum(t.state == TrialState.FAIL for t in trials),
        started="",
        finished="",
        duration_s=0.0,
        search_space=space_to_distributions(space),
        n_tested=decision.n_tested,
        promotion_rule=decision.rule,
        promotion_reasons=decision.reasons,
        spa_p_value=decision.spa_p_value,
        spa_basis=decision.spa_basis,
        bonferroni_p_value=decision.bonferroni_p_value,
        deflated_sharpe=decision.deflated_sharpe,
        best_sharpe=decision.best_sharpe,
    )
    _pbo(result, complete)
    return result


def _exact_fixed_trial(
    complete: list[FrozenTrial], fixed: dict[str, Any], space: dict[str, Any]
) -> FrozenTrial | None:
    """The completed ``fixed`` trial when its params are exactly the fixed config's.

    A fixed value outside the space is enqueued clipped into it; that trial is then another
    point, not the fixed config, and the fixed config is evaluated directly.
    """
    if not set(space) <= set(fixed):
        return None
    exact = {name: fixed[name] for name in space}
    for trial in complete:
        if trial.user_attrs.get("role") == "fixed" and trial.params == exact:
            return trial
    return None


def _pbo(result: TuneResult, complete: list[FrozenTrial]) -> None:
    """Probability of backtest overfitting over the trials' signal returns (or fold scores)."""
    with_returns = [t for t in complete if t.user_attrs.get("returns")]
    if len(with_returns) >= 2:
        matrix = np.array([t.user_attrs["returns"]["blocks"] for t in with_returns]).T
        result.pbo_basis = "out-of-fold signal returns"
    else:
        matrix = np.array([t.user_attrs.get("fold_scores", []) for t in complete]).T
        result.pbo_basis = "fold scores"
    if matrix.ndim == 2 and matrix.shape[1] >= 2:
        pbo, blocks = probability_of_backtest_overfitting(matrix)
        result.pbo, result.pbo_blocks = pbo, blocks


def last_run_time(config: Config) -> float | None:
    """Epoch seconds of this model's last finished tuning run, from the store."""
    from mltrainer.store import open_store

    with open_store(config.store.url, prefix=config.store.prefix) as store:
        record = store.get(store_key(config, "last_run"))
    if record is None:
        return None
    return datetime.fromisoformat(record["time"]).timestamp()
