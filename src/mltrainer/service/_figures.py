"""Plotly figures of the dashboard as plain JSON (``{"data", "layout", "points"}``).

Built from the same views the API answers with; the page's script hands ``data`` and
``layout`` to ``Plotly.react`` (plotly.js is served by this app, never a CDN). ``points``
counts the data points drawn, so a test (and a person) can tell an empty chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "alerts_timeline",
    "attributions",
    "drift_heatmap",
    "fold_scores",
    "headlines",
    "lime_weights",
    "metric_history",
    "param_importances",
    "train_history",
    "trials",
    "tuning_history",
    "waterfall",
]

_NOT_SCORES = {"split", "fit_time", "score_time", "test_start", "test_end", "path"}
_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 50}


def _figure(title: str, data: list[dict[str, Any]], *, empty: str, **layout: Any) -> dict[str, Any]:
    points = sum(len(trace.get("x") or trace.get("y") or trace.get("z") or []) for trace in data)
    base: dict[str, Any] = {"title": {"text": title}, "margin": _MARGIN, "height": 340}
    base.update(layout)
    if points == 0:
        base["annotations"] = [
            {
                "text": empty,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
            }
        ]
        base["xaxis"] = {"visible": False}
        base["yaxis"] = {"visible": False}
    return {"data": data, "layout": base, "points": points}


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def headlines(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Overview: each model's headline out-of-sample score (mean over folds)."""
    named = [
        (r["name"], r["headline"]) for r in rows if _number(r["headline"]["value"]) is not None
    ]
    data = []
    if named:
        data.append(
            {
                "type": "bar",
                "x": [name for name, _ in named],
                "y": [h["value"] for _, h in named],
                "text": [h["scorer"] for _, h in named],
                "hovertemplate": "%{x}: %{text} = %{y:.4f}<extra></extra>",
            }
        )
    return _figure(
        "Headline out-of-sample score of each model's latest version",
        data,
        empty="no model has scores yet: run mltrainer train",
        yaxis={"title": {"text": "mean over CV folds"}},
    )


def fold_scores(scores: dict[str, Any]) -> dict[str, Any]:
    """Grouped bars: each scorer per CV fold of the version."""
    folds = scores["folds"]
    names = [n for n in scores["mean"] if n not in _NOT_SCORES]
    x = [f"fold {int(f.get('split', i)) + 1}" for i, f in enumerate(folds)]
    data = [
        {"type": "bar", "name": name, "x": x, "y": [_number(f.get(name)) for f in folds]}
        for name in names
    ]
    method = (scores.get("cv") or {}).get("method", "")
    return _figure(
        f"Out-of-sample scores per fold, version {scores['version']} ({method})",
        data,
        empty="the version has no fold scores",
        barmode="group",
    )


def train_history(scores: dict[str, Any]) -> dict[str, Any]:
    """The headline score of every training run of the model."""
    headline = scores.get("headline")
    runs = scores["history"]
    data = []
    if runs and headline:
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": headline,
                "x": [r["time"] for r in runs],
                "y": [_number(r["scores"].get(headline)) for r in runs],
                "text": [f"v{r['version']}" for r in runs],
                "hovertemplate": "%{text}: %{y:.4f}<extra></extra>",
            }
        )
    return _figure(
        f"{headline or 'score'} of every training run",
        data,
        empty="no training run recorded in this store",
    )


def metric_history(history: dict[str, Any]) -> dict[str, Any]:
    """A monitored metric over time, with the alert thresholds on it."""
    times = history["time"]
    data: list[dict[str, Any]] = (
        [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": history["metric"],
                "x": times,
                "y": history["value"],
                "text": [f"v{v}" if v is not None else "" for v in history["version"]],
                "hovertemplate": "%{x}<br>%{y:.4g} %{text}<extra></extra>",
            }
        ]
        if times
        else []
    )
    for rule in history.get("thresholds", []):
        if times:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{rule['rule']} ({rule['op']})",
                    "x": [times[0], times[-1]],
                    "y": [rule["threshold"]] * 2,
                    "line": {"dash": "dash", "color": "#d62728"},
                    "hoverinfo": "name+y",
                }
            )
    shown = f"{len(times)} of {history['n_total']} points" + (
        ", M4-downsampled" if history["downsampled"] else ""
    )
    figure = _figure(
        f"{history['metric']} ({shown})",
        data,
        empty="no points in this range",
        legend={"orientation": "h"},
    )
    figure["points"] = len(times)
    return figure


def drift_heatmap(windows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Features x monitoring windows: effect over its calibrated threshold (> 1 drifted)."""
    features = sorted({f for w in windows for f in (w.get("features") or {})})
    z = [
        [_number(((w.get("features") or {}).get(f) or {}).get("effect_ratio")) for w in windows]
        for f in features
    ]
    drifted = [
        [
            "drifted" if ((w.get("features") or {}).get(f) or {}).get("drifted") else ""
            for w in windows
        ]
        for f in features
    ]
    data = []
    if features and windows:
        data.append(
            {
                "type": "heatmap",
                "x": [w["time"] for w in windows],
                "y": features,
                "z": z,
                "text": drifted,
                "colorscale": "RdBu",
                "zmin": 0,
                "zmid": 1,
                "zmax": max(2.0, max((v for row in z for v in row if v is not None), default=2.0)),
                "colorbar": {"title": {"text": "effect /<br>threshold"}},
                "hovertemplate": "%{y} @ %{x}<br>%{z:.2f} x threshold %{text}<extra></extra>",
            }
        )
    figure = _figure(
        "Feature drift per monitoring window (effect / calibrated threshold; > 1 is drifted)",
        data,
        empty="no drift windows yet: run mltrainer monitor",
        height=max(340, 22 * len(features) + 140),
        margin={**_MARGIN, "l": 140},
    )
    figure["points"] = len(features) * len(windows)
    return figure


def alerts_timeline(alerts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every stored alert at its time, one row per rule."""
    ordered = sorted(alerts, key=lambda a: a["timestamp"])
    data = []
    if ordered:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "alerts",
                "x": [a["timestamp"] for a in ordered],
                "y": [a["rule"] for a in ordered],
                "text": [a["message"] for a in ordered],
                "marker": {
                    "size": 12,
                    "symbol": "diamond",
                    "color": [
                        "#d62728" if a.get("action") == "retrain" else "#ff7f0e" for a in ordered
                    ],
                },
                "hovertemplate": "%{x}<br>%{text}<extra></extra>",
            }
        )
    return _figure("Alerts timeline", data, empty="no alert has fired", height=260)


def attributions(attr: dict[str, Any], *, top: int = 25) -> dict[str, Any]:
    """Horizontal bars of the version's global attributions, largest first."""
    values = sorted(attr["values"].items(), key=lambda kv: -abs(kv[1]))[:top]
    kind = {
        "mean_abs_shap": "mean |SHAP| out of fold",
        "native_gain": "native in-sample gain importance (no SHAP profile saved)",
    }.get(attr.get("kind") or "", "")
    data = []
    if values:
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "x": [v for _, v in values],
                "y": [k for k, _ in values],
            }
        )
    return _figure(
        f"Global attributions, version {attr['version']}: {kind}",
        data,
        empty="this version has no global attributions",
        yaxis={"autorange": "reversed"},
        height=max(300, 20 * len(values) + 120),
        margin={**_MARGIN, "l": 140},
    )


def waterfall(decision: dict[str, Any]) -> dict[str, Any]:
    """From the base value through the top contributions (and the rest) to the output."""
    contributions = [(str(f), float(v)) for f, v in decision.get("contributions") or []]
    base = float(decision["base_value"])
    output = float(decision["output_value"])
    rest = output - base - sum(v for _, v in contributions)
    x = ["base value", *(f for f, _ in contributions)]
    y = [base, *(v for _, v in contributions)]
    measure = ["absolute", *(["relative"] * len(contributions))]
    if abs(rest) > 1e-12:
        x.append("other features")
        y.append(rest)
        measure.append("relative")
    x.append("output")
    y.append(output)
    measure.append("total")
    data = [{"type": "waterfall", "orientation": "v", "x": x, "y": y, "measure": measure}]
    return _figure(
        f"Why {decision.get('output', 'the output')}: contributions in "
        f"{decision.get('space')} space",
        data,
        empty="no contributions",
        showlegend=False,
    )


def lime_weights(decision: dict[str, Any]) -> dict[str, Any]:
    """LIME's weights of the decision, when they were computed."""
    lime = decision.get("lime") or {}
    weights = lime.get("weights") or {}
    if isinstance(weights, list):
        weights = {str(k): float(v) for k, v in weights}
    items = sorted(weights.items(), key=lambda kv: -abs(float(kv[1])))[:20]
    data = []
    if items:
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "x": [float(v) for _, v in items],
                "y": [k for k, _ in items],
            }
        )
    stability = lime.get("stability")
    return _figure(
        "LIME weights" + (f" (stability {float(stability):.2f})" if stability is not None else ""),
        data,
        empty="LIME was not computed for this decision",
        yaxis={"autorange": "reversed"},
        margin={**_MARGIN, "l": 140},
    )


def tuning_history(detail: dict[str, Any]) -> dict[str, Any]:
    """Best and fixed-config scores of every tuning run of the study."""
    runs = detail["history"]
    data = []
    if runs:
        x = [r.get("finished") or r["time"] for r in runs]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "best trial",
                "x": x,
                "y": [_number(r.get("best_score")) for r in runs],
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "fixed config",
                "x": x,
                "y": [_number(r.get("fixed_score")) for r in runs],
            }
        )
    scorer = (detail.get("last") or {}).get("scorer", "score")
    return _figure(f"Tuning runs: {scorer}", data, empty="no tuning run recorded")


def trials(detail: dict[str, Any]) -> dict[str, Any]:
    """Each trial's value and the best so far (optimisation history)."""
    rows = [
        t for t in ((detail.get("trials") or {}).get("trials") or []) if t.get("value") is not None
    ]
    data = []
    if rows:
        best, running = [], -math.inf
        for row in rows:
            running = max(running, float(row["value"]))
            best.append(running)
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "trial",
                "x": [r["number"] for r in rows],
                "y": [r["value"] for r in rows],
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "best so far",
                "x": [r["number"] for r in rows],
                "y": best,
            }
        )
    return _figure(
        "Optimisation history (complete trials)",
        data,
        empty=detail.get("trials_problem") or "no complete trial",
        xaxis={"title": {"text": "trial"}},
    )


def param_importances(detail: dict[str, Any]) -> dict[str, Any]:
    """fANOVA importance of each searched parameter."""
    values = ((detail.get("trials") or {}).get("importances") or {}).items()
    items = sorted(values, key=lambda kv: -kv[1])
    data = []
    if items:
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "x": [v for _, v in items],
                "y": [k for k, _ in items],
            }
        )
    return _figure(
        "Parameter importances (fANOVA)",
        data,
        empty="needs at least two complete trials with different parameters",
        yaxis={"autorange": "reversed"},
        margin={**_MARGIN, "l": 140},
    )
