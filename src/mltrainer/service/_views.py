"""What the API answers and the pages show: registry facts joined with store records.

Each function takes the app's :class:`ServiceState` and names already checked against the
registry, and returns JSON-ready dicts; the JSON endpoints return them as they are and
the dashboard renders them, so a page never shows what the API would not.
"""

from __future__ import annotations

import math
from typing import Any

from mltrainer.cv import default_scoring
from mltrainer.exceptions import ConfigError, MltrainerError, NotFoundError
from mltrainer.service import _reads
from mltrainer.service._state import ServiceState

__all__ = [
    "global_attributions",
    "headline",
    "model_summary",
    "overview",
    "scores",
    "thresholds",
    "version_detail",
]


def headline(metadata: dict[str, Any]) -> str | None:
    """The version's headline scorer: its config's first ``cv.scoring``, else the default."""
    configured = ((metadata.get("config") or {}).get("cv") or {}).get("scoring")
    if configured:
        return str(configured[0])
    task = metadata.get("task")
    classes = (metadata.get("label") or {}).get("classes") or []
    try:
        return default_scoring(str(task), len(classes) or None)[0]
    except ConfigError:
        return None


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def overview(state: ServiceState) -> list[dict[str, Any]]:
    """One row per registered model: versions, aliases, headline score, last alert."""
    rows = []
    for name in state.registry.list_models():
        versions = state.registry.list_versions(name)
        latest = versions[-1]
        scorer = value = None
        try:
            metadata = state.metadata(name, latest["version"])
            scorer = headline(metadata)
            value = _finite(((metadata.get("scores") or {}).get("mean") or {}).get(scorer))
        except MltrainerError:  # a damaged version is flagged by list_versions' ok
            metadata = {}
        last_alert = _reads.alerts(state.store, name, limit=1)
        rows.append(
            {
                "name": name,
                "n_versions": len(versions),
                "latest_version": latest["version"],
                "created_at": latest["created_at"],
                "model_type": metadata.get("model_type"),
                "task": metadata.get("task"),
                "aliases": state.registry.aliases(name),
                "headline": {"scorer": scorer, "value": value},
                "last_alert": last_alert[0] if last_alert else None,
                "problems": [v["version"] for v in versions if not v["ok"]],
            }
        )
    return rows


def model_summary(state: ServiceState, name: str) -> dict[str, Any]:
    """A model's versions, aliases, latest training scores and what was recorded for it."""
    versions = state.registry.list_versions(name)
    last_alert = _reads.alerts(state.store, name, limit=1)
    return {
        "name": name,
        "versions": versions,
        "aliases": state.registry.aliases(name),
        "latest_train": _reads.train_latest(state.store, name),
        "metrics": _reads.tracked_metrics(state.store, name),
        "last_alert": last_alert[0] if last_alert else None,
        "has_drift": _reads.drift_latest(state.store, name) is not None,
        "tuned": [t["model_type"] for t in _reads.tuning_summary(state.store, name)],
        "streaming": _reads.stream_state(state.store, name) is not None,
        "decisions_recorded": True,
    }


def version_detail(state: ServiceState, name: str, version: str | int | None) -> dict[str, Any]:
    """A version's metadata, lineage (ancestors, nearest first) and the aliases naming it."""
    number = state.version(name, version)
    metadata = state.metadata(name, number)
    aliases = [alias for alias, v in state.registry.aliases(name).items() if v == number]
    return {
        "name": name,
        "version": number,
        "aliases": sorted(aliases),
        "lineage": state.registry.lineage(name, number),
        "metadata": metadata,
    }


def scores(state: ServiceState, name: str, version: str | int | None) -> dict[str, Any]:
    """Out-of-sample fold scores of a version, and the score history of every training run."""
    number = state.version(name, version)
    metadata = state.metadata(name, number)
    recorded = metadata.get("scores") or {}
    return {
        "name": name,
        "version": number,
        "headline": headline(metadata),
        "cv": metadata.get("cv"),
        "mean": recorded.get("mean") or {},
        "folds": recorded.get("folds") or [],
        "paths": recorded.get("paths") or [],
        "history": _reads.train_history(state.store, name, limit=state.settings.max_list),
    }


def thresholds(state: ServiceState, name: str, metric: str) -> list[dict[str, Any]]:
    """Alert thresholds on `metric`: the latest version's rules and those alerts recorded."""
    out: dict[str, dict[str, Any]] = {}
    try:
        metadata = state.metadata(name, "latest")
        rules = ((metadata.get("config") or {}).get("monitor") or {}).get("rules") or []
    except MltrainerError:
        rules = []
    for rule in rules:
        if rule.get("metric") == metric:
            out[str(rule["name"])] = {
                "rule": rule["name"],
                "op": rule["op"],
                "threshold": float(rule["threshold"]),
            }
    for alert in _reads.alerts(state.store, name, limit=state.settings.max_list):
        if alert["metric"] == metric and alert["rule"] not in out:
            out[alert["rule"]] = {
                "rule": alert["rule"],
                "op": alert["op"],
                "threshold": float(alert["threshold"]),
            }
    return list(out.values())


def global_attributions(
    state: ServiceState, name: str, version: str | int | None
) -> dict[str, Any]:
    """The version's global attributions: mean |SHAP| out of fold when training saved it
    (``metadata["explain"]["global"]["mean_abs"]``), else the model's native in-sample
    importance (trees), else nothing."""
    number = state.version(name, version)
    metadata = state.metadata(name, number)
    profile = ((metadata.get("explain") or {}).get("global") or {}).get("mean_abs")
    if profile:
        values = {str(k): float(v) for k, v in profile.items()}
        return {"version": number, "kind": "mean_abs_shap", "values": values}
    from mltrainer.selection import supports_tree_importance, tree_importance

    model = state.load(name, number)
    if model.is_composite or not supports_tree_importance(model.estimator):
        return {"version": number, "kind": None, "values": {}}
    try:
        series = tree_importance(model.estimator, model.feature_names)
    except (MltrainerError, NotFoundError):
        return {"version": number, "kind": None, "values": {}}
    return {
        "version": number,
        "kind": "native_gain",
        "values": {str(k): float(v) for k, v in series.items()},
    }
