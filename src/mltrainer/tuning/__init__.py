"""Hyperparameter tuning with Optuna on purged cross-validation.

The objective is the mean out-of-fold score over the configured splitter, reported fold by
fold to a pruner; studies live in any Optuna storage chosen by URL (SQLite, Redis journal,
PostgreSQL) and are shared by worker processes on one or many hosts; the best params are
written to the store, where ``model.params: optimized`` reads them, only when they beat the
fixed config by a margin that survives the number of trials tried (SPA test, deflated
Sharpe); nested purged CV estimates what tuned params score out of sample. See
``docs/tuning.md``.
"""

from mltrainer.pipeline import load_best_params
from mltrainer.tuning._nested import NestedFold, NestedResult, nested_evaluation
from mltrainer.tuning._objective import Objective
from mltrainer.tuning._overfit import (
    deflated_sharpe_ratio,
    paired_gain_test,
    probability_of_backtest_overfitting,
)
from mltrainer.tuning._promotion import Evidence, Promotion, promotion_test, spa_test
from mltrainer.tuning._report import load_study, trials_frame, write_html_report
from mltrainer.tuning._results import TuneResult
from mltrainer.tuning._schedule import next_run_time, run_schedule
from mltrainer.tuning._space import model_search_space, search_space
from mltrainer.tuning._storage import fail_stale_trials, open_storage
from mltrainer.tuning._study import default_study_name, tune

__all__ = [
    "Evidence",
    "NestedFold",
    "NestedResult",
    "Objective",
    "Promotion",
    "TuneResult",
    "default_study_name",
    "deflated_sharpe_ratio",
    "fail_stale_trials",
    "load_best_params",
    "load_study",
    "model_search_space",
    "nested_evaluation",
    "next_run_time",
    "open_storage",
    "paired_gain_test",
    "probability_of_backtest_overfitting",
    "promotion_test",
    "run_schedule",
    "search_space",
    "spa_test",
    "trials_frame",
    "tune",
    "write_html_report",
]
