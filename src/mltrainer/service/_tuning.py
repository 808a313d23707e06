"""A tuning study for the API and the tuning page: stored results, trials, importances.

The results (``tuning/<model>/<type>/last|best|history``) come from the store; trials and
parameter importances from the study's Optuna storage: the service's ``optuna_storage``
setting, else the storage recorded with the study when it holds no password (the store
records storage URLs with passwords masked). A link to optuna-dashboard on the same
storage is offered rather than re-implementing it.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import warnings
from typing import Any

from mltrainer.exceptions import MltrainerError, NotFoundError, did_you_mean
from mltrainer.models import MODEL_CATALOGUE
from mltrainer.service import _reads
from mltrainer.service._state import ServiceState
from mltrainer.store import mask_password

__all__ = ["study_detail"]

logger = logging.getLogger("mltrainer")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # NumPy scalars
        return _plain(value.item())
    return value


def _trials(state: ServiceState, storage: str, study_name: str, limit: int) -> dict[str, Any]:
    import optuna

    from mltrainer.tuning import load_study, trials_frame

    study = state.memo(("study", storage, study_name), lambda: load_study(storage, study_name))
    frame = trials_frame(study)
    n_complete = int((frame["state"] == "COMPLETE").sum()) if len(frame) else 0
    records = [
        {str(k): _plain(v) for k, v in row.items()}
        for row in frame.tail(limit).to_dict(orient="records")
    ]

    def importances() -> dict[str, float]:
        if n_complete < 2:
            return {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                values = optuna.importance.get_param_importances(
                    study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
                )
            except (ValueError, RuntimeError):  # e.g. every trial with the same params
                return {}
        return {str(k): float(v) for k, v in values.items()}

    key = ("importances", storage, study_name, len(frame), n_complete)
    return {
        "n_trials": len(frame),
        "n_complete": n_complete,
        "trials": records,
        "importances": state.memo(key, importances),
    }


def study_detail(state: ServiceState, name: str, model_type: str, *, limit: int) -> dict[str, Any]:
    """The study of `name` tuned as `model_type`: results, history, trials, importances."""
    if model_type not in MODEL_CATALOGUE:
        raise NotFoundError(
            f"model type {model_type!r} is not in the catalogue"
            f"{did_you_mean(model_type, MODEL_CATALOGUE)}; types: {', '.join(MODEL_CATALOGUE)}"
        )
    studies = {s["model_type"]: s for s in _reads.tuning_summary(state.store, name)}
    if model_type not in studies:
        raise NotFoundError(
            f"model '{name}' was never tuned as {model_type}; tuned: "
            f"{', '.join(studies) or 'none (run mltrainer tune)'}"
        )
    summary = studies[model_type]
    last = summary["last"]
    storage = state.settings.optuna_storage or str(last.get("storage") or "")
    study_name = str(last.get("study") or "")
    trials: dict[str, Any] | None = None
    problem = None
    if "***" in storage:
        problem = (
            "the study's storage was recorded with its password masked: start the service "
            "with --optuna-storage URL to show its trials"
        )
    elif storage and study_name:
        try:
            trials = _trials(state, storage, study_name, limit)
        except (MltrainerError, OSError, ImportError) as exc:  # unreachable storage
            problem = f"trials unavailable: {exc}"
            logger.warning("tuning page of %r: %s", name, problem)
    installed = importlib.util.find_spec("optuna_dashboard") is not None
    return {
        **summary,
        "history": _reads.tuning_history(state.store, name, model_type, limit=limit),
        "trials": trials,
        "trials_problem": problem,
        "optuna_dashboard": {
            "installed": installed,
            "url": state.settings.optuna_dashboard_url,
            "command": f"optuna-dashboard {mask_password(storage)}" if storage else None,
        },
    }
