"""Study reports: the trial history table and offline HTML plots (optuna.visualization)."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import optuna
import pandas as pd

from mltrainer.exceptions import NotFoundError
from mltrainer.tuning._storage import open_storage

__all__ = ["load_study", "trials_frame", "write_html_report"]


def load_study(storage: str, study_name: str) -> optuna.Study:
    """Open an existing study; an unknown name lists the studies the storage holds."""
    backend = open_storage(storage)
    names = [s.study_name for s in optuna.get_all_study_summaries(backend)]
    if study_name not in names:
        from mltrainer.exceptions import did_you_mean

        raise NotFoundError(
            f"no study '{study_name}'{did_you_mean(study_name, names)} in {storage};"
            f" studies: {', '.join(names) or 'none'}"
        )
    return optuna.load_study(study_name=study_name, storage=backend)


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, seconds, folds scored, role and params."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "seconds": duration,
                "folds": len(t.user_attrs.get("fold_scores", [])),
                "role": t.user_attrs.get("role", ""),
                **t.params,
            }
        )
    return pd.DataFrame(rows)


def write_html_report(study: optuna.Study, path: str | Path) -> Path:
    """Write optimisation history, parameter importances and parallel coordinates to one
    HTML file that opens offline (plotly.js embedded once)."""
    from optuna import visualization as vis

    figures = [vis.plot_optimization_history(study)]
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            with contextlib.suppress(ValueError, RuntimeError):  # e.g. all params equal
                figures.append(vis.plot_param_importances(study))
        figures.append(vis.plot_parallel_coordinate(study))
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figures)
    ]
    html = (
        f"<html><head><meta charset='utf-8'><title>{study.study_name}</title></head><body>"
        f"<h1>Study {study.study_name}</h1>{''.join(parts)}</body></html>"
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
