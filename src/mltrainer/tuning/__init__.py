"""Hyperparameter tuning with Optuna on purged cross-validation.

The objective is the mean out-of-fold score over the configured splitter, reported fold by
fold to a pruner; studies live in any Optuna storage chosen by URL (SQLite, Redis journal,
PostgreSQL) and are shared by worker processes on one or many hosts; the best params are
written to the store, where ``model.params: optimized`` reads them, only when they beat the
fixed config by a significant margin. See ``docs/tuning.md``.
"""

from mltrainer.pipeline import load_best_params
from mltrainer.tuning._objective import FoldOutcome, Objective, forward_returns
from mltrainer.tuning._overfit import (
    deflated_sharpe_ratio,
    paired_gain_test,
    probability_of_backtest_overfitting,
)
from mltrainer.tuning._report import load_study, trials_frame, write_html_report
from mltrainer.tuning._results import TuneResult, store_key
from mltrainer.tuning._schedule import next_run_time, run_schedule
from mltrainer.tuning._space import (
    clip_to_space,
    model_search_space,
    search_space,
    suggest_params,
)
from mltrainer.tuning._storage import fail_stale_trials, mask_url, open_storage
from mltrainer.tuning._study import default_study_name, tune

__all__ = [
    "FoldOutcome",
    "Objective",
    "TuneResult",
    "clip_to_space",
    "default_study_name",
    "deflated_sharpe_ratio",
    "fail_stale_trials",
    "forward_returns",
    "load_best_params",
    "load_study",
    "mask_url",
    "model_search_space",
    "next_run_time",
    "open_storage",
    "paired_gain_test",
    "probability_of_backtest_overfitting",
    "run_schedule",
    "search_space",
    "store_key",
    "suggest_params",
    "trials_frame",
    "tune",
    "write_html_report",
]
