"""Offline HTML plots of an explanation (plotly, its JavaScript embedded once).

Four views: the summary (a beeswarm of every row's contribution per feature, coloured by
the feature's value), the bar of mean |SHAP| per feature, the waterfall of one decision
(from the base value to the output), and the dependence of one feature's contribution on
its value, coloured by another feature. The page loads no script from the network.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mltrainer.exceptions import ConfigError
from mltrainer.explain._explanation import Explanation

__all__ = [
    "bar_figure",
    "dependence_figure",
    "summary_figure",
    "waterfall_figure",
    "write_explanation_html",
]

_MAX_POINTS = 2_000  # rows drawn per feature in the beeswarm


def _output(explanation: Explanation, output: str | int | None) -> int:
    if output is None:
        return explanation.n_outputs - 1  # binary/regression: the one; else the last class
    if isinstance(output, int):
        return output % explanation.n_outputs
    if output not in explanation.outputs:
        raise ConfigError(f"output {output!r} is not one of {explanation.outputs}")
    return explanation.outputs.index(output)


def _ranked(explanation: Explanation, top: int) -> list[str]:
    return [str(f) for f in explanation.mean_abs().index[:top]]


def _normalised(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.full(values.shape, 0.5)
    lo, hi = np.percentile(finite, [5, 95])
    span = hi - lo if hi > lo else 1.0
    return np.asarray(np.clip((values - lo) / span, 0.0, 1.0))


def summary_figure(
    explanation: Explanation, *, output: str | int | None = None, top: int = 20, seed: int = 0
) -> Any:
    """Beeswarm: one point per row and feature, x = contribution, colour = feature value."""
    import plotly.graph_objects as go

    k = _output(explanation, output)
    names = _ranked(explanation, top)
    rng = np.random.default_rng(seed)
    rows = np.arange(explanation.n_rows)
    if rows.size > _MAX_POINTS:
        rows = np.sort(rng.choice(rows, size=_MAX_POINTS, replace=False))
    fig = go.Figure()
    position = {name: j for j, name in enumerate(explanation.feature_names)}
    for level, name in enumerate(names):
        j = position[name]
        contribution = explanation.contributions[rows, j, k]
        value = explanation.data.iloc[rows, j].to_numpy(dtype=float)
        jitter = rng.uniform(-0.3, 0.3, size=rows.size)
        fig.add_trace(
            go.Scattergl(
                x=contribution,
                y=level + jitter,
                mode="markers",
                name=name,
                showlegend=False,
                marker={
                    "size": 4,
                    "color": _normalised(value),
                    "colorscale": "RdBu_r",
                    "cmin": 0,
                    "cmax": 1,
                    "showscale": level == 0,
                    "colorbar": {"title": "feature value<br>(low to high)"},
                },
                text=[f"{name} = {v:.4g}" for v in value],
                hovertemplate="%{text}<br>contribution %{x:.4g}<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"Contributions per feature ({explanation.space} space, output "
        f"{explanation.outputs[k]}); colour = the feature's value",
        yaxis={"tickmode": "array", "tickvals": list(range(len(names))), "ticktext": names,
               "autorange": "reversed"},
        xaxis={"title": f"contribution ({explanation.space})", "zeroline": True},
        height=max(320, 26 * len(names) + 140),
        margin={"l": 170},
    )  # fmt: skip
    return fig


def bar_figure(explanation: Explanation, *, top: int = 20) -> Any:
    """Mean |SHAP| per feature (over rows and outputs), largest first."""
    import plotly.graph_objects as go

    mean = explanation.mean_abs().iloc[:top]
    fig = go.Figure(
        go.Bar(x=mean.to_numpy(dtype=float), y=[str(i) for i in mean.index], orientation="h")
    )
    fig.update_layout(
        title=f"Mean |contribution| per feature over {explanation.n_rows} rows",
        yaxis={"autorange": "reversed"},
        xaxis={"title": f"mean |contribution| ({explanation.space})"},
        height=max(300, 22 * len(mean) + 120),
        margin={"l": 170},
    )
    return fig


def waterfall_figure(
    explanation: Explanation, row: int = -1, *, output: str | int | None = None, top: int = 12
) -> Any:
    """One decision: from the base value, each feature's contribution, to the output."""
    import plotly.graph_objects as go

    row = row % explanation.n_rows
    k = _output(explanation, output)
    pairs = explanation.top(row, k=None, output=k)
    shown, rest = pairs[:top], pairs[top:]
    labels = [f"{name} = {explanation.data.iloc[row][name]:.4g}" for name, _ in shown]
    values = [value for _, value in shown]
    if rest:
        labels.append(f"{len(rest)} other features")
        values.append(float(sum(v for _, v in rest)))
    base = float(explanation.base[row, k])
    output_value = float(explanation.output[row, k])
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute", *["relative"] * len(values), "total"],
            y=["base value", *labels, "output"],
            x=[base, *values, output_value],
            connector={"line": {"color": "#999"}},
        )
    )
    when = explanation.index[row]
    fig.update_layout(
        title=f"Decision at {when}: base {base:.4g} -> output {output_value:.4g} "
        f"({explanation.space}, output {explanation.outputs[k]})",
        yaxis={"autorange": "reversed"},
        height=max(320, 26 * (len(values) + 2) + 140),
        margin={"l": 220},
    )
    return fig


def dependence_figure(
    explanation: Explanation,
    feature: str | None = None,
    *,
    color: str | None = None,
    output: str | int | None = None,
) -> Any:
    """A feature's contribution against its value, coloured by another feature's value.

    ``feature`` defaults to the most important one; ``color`` to the feature whose values
    are most correlated with the residual of ``feature``'s contribution (the likeliest
    interaction), as ``shap``'s dependence plot chooses it.
    """
    import plotly.graph_objects as go

    names = explanation.feature_names
    feature = feature or _ranked(explanation, 1)[0]
    if feature not in names:
        raise ConfigError(f"feature {feature!r} is not explained; features: {names[:8]}...")
    k = _output(explanation, output)
    j = names.index(feature)
    x = explanation.data[feature].to_numpy(dtype=float)
    y = explanation.contributions[:, j, k]
    if color is None:
        color = _interaction_partner(explanation, j, k)
    if color is not None and color not in names:
        raise ConfigError(f"colour feature {color!r} is not explained")
    marker: dict[str, Any] = {"size": 5}
    if color is not None:
        marker.update(
            color=explanation.data[color].to_numpy(dtype=float),
            colorscale="RdBu_r",
            showscale=True,
            colorbar={"title": color},
        )
    fig = go.Figure(go.Scattergl(x=x, y=y, mode="markers", marker=marker))
    fig.update_layout(
        title=f"Dependence of {feature}'s contribution on its value"
        + (f", coloured by {color}" if color else ""),
        xaxis={"title": feature},
        yaxis={"title": f"contribution of {feature} ({explanation.space})"},
        height=420,
    )
    return fig


def _interaction_partner(explanation: Explanation, j: int, k: int) -> str | None:
    """The feature that most changes feature ``j``'s contribution at a given value of ``j``.

    With interaction values: the largest mean |interaction| with ``j``. Otherwise, as
    ``shap``'s ``approximate_interactions``: rows sorted by ``j``'s value are cut into bins
    and, within each bin (``j`` about constant), the |correlation| of each other feature with
    ``j``'s contribution is summed over the bins.
    """
    names = explanation.feature_names
    if explanation.interactions is not None:
        strength = np.abs(explanation.interactions[:, j, :, k]).mean(axis=0)
        strength[j] = -1.0
        return names[int(np.argmax(strength))] if len(names) > 1 else None
    n = explanation.n_rows
    if len(names) < 2 or n < 20:
        return None
    x = explanation.data.iloc[:, j].to_numpy(dtype=float)
    y = explanation.contributions[:, j, k]
    order = np.argsort(x, kind="stable")
    bins = np.array_split(order, max(2, min(10, n // 10)))
    best, best_score = None, -1.0
    for i, name in enumerate(names):
        if i == j:
            continue
        other = np.nan_to_num(explanation.data.iloc[:, i].to_numpy(dtype=float))
        score = 0.0
        for rows in bins:
            a, b = other[rows], y[rows]
            if a.std() > 0 and b.std() > 0:
                score += abs(float(np.corrcoef(a, b)[0, 1]))
        if score > best_score:
            best, best_score = name, score
    return best


def write_explanation_html(
    path: str | Path,
    explanation: Explanation,
    *,
    title: str = "Explanation",
    row: int = -1,
    feature: str | None = None,
    color: str | None = None,
    output: str | int | None = None,
    top: int = 20,
) -> Path:
    """Write the four plots to one self-contained HTML file (atomically).

    Parameters
    ----------
    path : str or Path
        The ``.html`` file (its directory is created).
    explanation : Explanation
    title : str
        The page's heading.
    row : int, default -1
        The decision shown in the waterfall (default the last row).
    feature, color : str, optional
        The dependence plot's feature and colour feature (defaults: the most important
        feature and its likeliest interaction partner).
    output : str or int, optional
        The output drawn for multi-class explanations (default the last class).
    top : int, default 20
        Features shown in the summary and the bar.

    Returns
    -------
    Path
    """
    if explanation.n_rows == 0:
        raise ConfigError("the explanation has no rows to plot; explain at least one row")
    figures = [
        summary_figure(explanation, output=output, top=top),
        bar_figure(explanation, top=top),
        waterfall_figure(explanation, row, output=output),
        dependence_figure(explanation, feature, color=color, output=output),
    ]
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=(i == 0), default_height=None)
        for i, fig in enumerate(figures)
    ]
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in explanation.notes)
    heading = html.escape(title)
    body = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{heading}</title>
<style>body{{font-family:sans-serif;margin:2em}}</style></head><body>
<h1>{heading}</h1>
<p>{explanation.n_rows} rows, {len(explanation.feature_names)} features; method
{html.escape(explanation.method)}, {html.escape(explanation.space)} space; additivity
residual at most {explanation.max_residual:.2e} (tolerance {explanation.tolerance:.1e}).</p>
<ul>{notes}</ul>
<h2>Summary</h2>{parts[0]}
<h2>Global importance</h2>{parts[1]}
<h2>One decision</h2>{parts[2]}
<h2>Dependence</h2>{parts[3]}
</body></html>
"""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(body)
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return out
