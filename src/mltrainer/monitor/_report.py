"""The HTML monitoring report: plotly with its JavaScript embedded, so it opens offline.

Sections: a summary with the metrics and alerts; features ranked by drift effect; the
metric history; reference vs current histograms of the most drifted features.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.monitor._profile import ColumnProfile, ReferenceProfile

__all__ = ["drift_effect", "write_report"]

_MAX_HISTORY_PANELS = 9


def drift_effect(table: pd.DataFrame) -> pd.Series:
    """Each feature's effect size over its calibrated threshold (1 = at the threshold).

    ``effect / effect_threshold`` (Wasserstein in reference standard deviations for
    continuous features, PSI for categorical ones), sorted from the largest; PSI where the
    table has no threshold.
    """
    if "effect" in table and "effect_threshold" in table:
        effect = table["effect"].to_numpy(dtype=float)
        threshold = table["effect_threshold"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(threshold > 0, effect / threshold, np.nan)
    else:
        ratio = table["psi"].to_numpy(dtype=float)
    return pd.Series(ratio, index=table.index, name="effect_ratio").sort_values(
        ascending=False, na_position="last"
    )


def _html_table(frame: pd.DataFrame) -> str:
    return frame.to_html(classes="t", border=0, float_format=lambda v: f"{v:.4g}", na_rep="NaN")


def _effect_figure(table: pd.DataFrame, effect: pd.Series) -> Any:
    import plotly.graph_objects as go

    drifted = table["drifted"].reindex(effect.index).fillna(False).astype(bool)
    fig = go.Figure(
        go.Bar(
            x=effect.to_numpy(dtype=float),
            y=[str(i) for i in effect.index],
            orientation="h",
            marker_color=np.where(drifted.to_numpy(), "#d62728", "#7f7f7f").tolist(),
            hovertext=[
                f"p_adj={table.at[f, 'p_adjusted']:.3g}" if "p_adjusted" in table else ""
                for f in effect.index
            ],
        )
    )
    fig.add_vline(x=1.0, line_dash="dash", line_color="black")
    fig.update_layout(
        title="Features ranked by drift effect (effect / calibrated threshold; red = drifted)",
        yaxis={"autorange": "reversed"},
        height=max(300, 22 * len(effect) + 120),
        margin={"l": 160},
    )
    return fig


def _history_figure(history: pd.DataFrame) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [c for c in history.columns if history[c].notna().any()][:_MAX_HISTORY_PANELS]
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names or ["no history yet"])
    for i, name in enumerate(names):
        series = history[name]
        fig.add_trace(
            go.Scatter(
                x=series.index, y=series.to_numpy(dtype=float), mode="lines+markers", name=name
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_layout(title="Metric history", showlegend=False, height=280 * rows + 80)
    return fig


def _histogram_traces(ref: ColumnProfile, current: pd.Series) -> list[Any]:
    import plotly.graph_objects as go

    if ref.categorical:
        counts = current.dropna().value_counts(normalize=True)
        if ref.numeric:
            counts.index = counts.index.astype(float)
        cats = list(ref.categories)
        total = float(np.sum(ref.counts)) or 1.0
        cur = [float(counts.get(c, 0.0)) for c in cats]
        labels = [str(c) for c in cats]
        return [
            go.Bar(x=labels, y=(np.asarray(ref.counts) / total).tolist(), name="reference"),
            go.Bar(x=labels, y=cur, name="current"),
        ]
    values = current.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    both = np.concatenate([ref.sample, values])
    lo, hi = (float(np.min(both)), float(np.max(both))) if both.size else (0.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
    centers = (edges[:-1] + edges[1:]) / 2
    out = []
    for name, sample in (("reference", ref.sample), ("current", values)):
        density, _ = np.histogram(sample, bins=edges, density=bool(sample.size))
        out.append(go.Scatter(x=centers, y=density, mode="lines", line_shape="hvh", name=name))
    return out


def _histograms_figure(
    profile: ReferenceProfile, current: pd.DataFrame, features: Sequence[str]
) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    features = [f for f in features if f in profile.features and f in current.columns]
    if not features:
        return go.Figure().update_layout(title="No drifted feature to show")
    cols = min(2, len(features))
    rows = math.ceil(len(features) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(features))
    for i, feature in enumerate(features):
        for trace in _histogram_traces(profile.features[feature], current[feature]):
            trace.update(
                showlegend=i == 0,
                legendgroup=trace.name,
                marker_color="#1f77b4" if trace.name == "reference" else "#ff7f0e",
            )
            if hasattr(trace, "line"):
                trace.update(line_color="#1f77b4" if trace.name == "reference" else "#ff7f0e")
            fig.add_trace(trace, row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(
        title="Reference vs current distribution of the most drifted features",
        height=300 * rows + 100,
        barmode="group",
    )
    return fig


def write_report(
    path: str | Path,
    *,
    model: str,
    version: int | None,
    timestamp: pd.Timestamp,
    profile: ReferenceProfile,
    current: pd.DataFrame,
    drift_table: pd.DataFrame,
    metrics: Mapping[str, float],
    history: pd.DataFrame | None = None,
    alerts: Sequence[Mapping[str, Any]] = (),
    top: int = 6,
) -> Path:
    """Write a self-contained HTML report (plotly JS embedded once; no CDN, opens offline).

    Parameters
    ----------
    path : str or Path
        The ``.html`` file to write (its directory is created).
    model, version, timestamp
        What was monitored and when.
    profile : ReferenceProfile
        The training reference (for the reference histograms).
    current : DataFrame
        The current window's features.
    drift_table : DataFrame
        ``feature_drift(...).table``: indexed by feature, with ``drifted`` and effect sizes.
    metrics : mapping
        This run's metrics.
    history : DataFrame, optional
        Metric history (``history_frame``), one column per metric.
    alerts : sequence of mapping
        Alerts fired in this run.
    top : int, default 6
        Histograms shown: the drifted features first, then the largest effects.

    Returns
    -------
    Path
    """
    effect = drift_effect(drift_table)
    drifted = [f for f in effect.index if bool(drift_table.at[f, "drifted"])]
    shown = (drifted + [f for f in effect.index if f not in drifted])[:top]
    figures = [
        _effect_figure(drift_table, effect),
        _history_figure(history if history is not None else pd.DataFrame()),
        _histograms_figure(profile, current, [str(f) for f in shown]),
    ]
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=(i == 0), default_height=None)
        for i, fig in enumerate(figures)
    ]
    metric_frame = pd.DataFrame({"value": pd.Series(dict(metrics), dtype=float)})
    ranked = drift_table.reindex(effect.index).assign(effect_ratio=effect)
    alert_rows = "".join(f"<li>{html.escape(str(a.get('message', a)))}</li>" for a in alerts)
    title = f"Monitoring report: {html.escape(model)}" + (f" v{version}" if version else "")
    body = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}} table.t{{border-collapse:collapse}}
table.t td,table.t th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}}</style>
</head><body>
<h1>{title}</h1>
<p>Run at {html.escape(timestamp.isoformat())} on {len(current)} rows;
{len(drifted)} of {len(drift_table)} features drifted
({html.escape(", ".join(map(str, drifted)) or "none")}).</p>
<h2>Alerts</h2><ul>{alert_rows or "<li>none</li>"}</ul>
<h2>Metrics</h2>{_html_table(metric_frame)}
{parts[0]}
<h2>Drift per feature</h2>{_html_table(ranked)}
{parts[1]}
{parts[2]}
</body></html>
"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out
