"""HTML reports of augmentation: the quality gate's figures and synthetic paths (offline)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.augment._gate import GateResult

__all__ = ["gate_figures", "gate_html", "paths_figure", "report_html"]


def _table(gate: GateResult) -> str:
    rows = []
    for check in gate.checks:
        verdict = "pass" if check.passed else "FAIL"
        color = "#2e7d32" if check.passed else "#c62828"
        rows.append(
            f"<tr><td>{html.escape(check.name)}</td><td>{check.value:.4f}</td>"
            f"<td>{check.reference:.4f}</td><td>{html.escape(check.rule)}</td>"
            f"<td style='color:{color};font-weight:bold'>{verdict}</td></tr>"
        )
    head = "<tr><th>check</th><th>synthetic</th><th>real</th><th>rule</th><th></th></tr>"
    style = "border='1' cellpadding='4' style='border-collapse:collapse'"
    return f"<table {style}>{head}{''.join(rows)}</table>"


def gate_figures(gate: GateResult) -> list[Any]:
    """Plotly figures of the gate: |r| autocorrelation, leverage, return quantiles."""
    import plotly.graph_objects as go

    figures = []
    for name, title in (
        ("acf_abs", "Autocorrelation of |returns| (volatility clustering)"),
        ("acf_returns", "Autocorrelation of returns"),
        ("leverage", "Leverage: corr(r_t, |r_t+k|)"),
    ):
        real, synth = getattr(gate.real, name), getattr(gate.synthetic, name)
        lags = np.arange(1, real.size + 1)
        fig = go.Figure(
            [
                go.Scatter(x=lags, y=real, name="real (held out)", mode="lines+markers"),
                go.Scatter(x=lags, y=synth, name="synthetic", mode="lines+markers"),
            ]
        )
        fig.update_layout(title=title, xaxis_title="lag (bars)", template="plotly_white")
        figures.append(fig)
    quantiles = gate.extra.get("quantiles")
    if quantiles:
        real_q, synth_q = np.asarray(quantiles["real"]), np.asarray(quantiles["synthetic"])
        lo, hi = float(min(real_q.min(), synth_q.min())), float(max(real_q.max(), synth_q.max()))
        fig = go.Figure(
            [
                go.Scatter(x=real_q, y=synth_q, mode="markers", name="quantiles"),
                go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x"),
            ]
        )
        fig.update_layout(
            title="Q-Q plot of log returns (tails)",
            xaxis_title="real",
            yaxis_title="synthetic",
            template="plotly_white",
        )
        figures.append(fig)
    return figures


def paths_figure(real: pd.DataFrame, paths: Sequence[pd.DataFrame], *, shown: int = 20) -> Any:
    """The real close and up to ``shown`` synthetic closes."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for k, path in enumerate(paths[:shown]):
        fig.add_trace(
            go.Scatter(
                x=path.index,
                y=path["close"],
                mode="lines",
                line={"width": 1},
                opacity=0.4,
                name=f"path {k}",
                showlegend=k == 0,
            )
        )
    fig.add_trace(
        go.Scatter(
            x=real.index,
            y=real["close"],
            mode="lines",
            name="real",
            line={"color": "black", "width": 2},
        )
    )
    fig.update_layout(title="Synthetic close paths", yaxis_type="log", template="plotly_white")
    return fig


def report_html(title: str, sections: Sequence[tuple[str, str, Sequence[Any]]]) -> bytes:
    """One offline HTML page: ``(heading, html text, figures)`` per section."""
    parts = [
        "<html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title></head>",
        f"<body style='font-family:sans-serif'><h1>{html.escape(title)}</h1>",
    ]
    first = True
    for heading, text, figures in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>{text}")
        for fig in figures:
            parts.append(fig.to_html(full_html=False, include_plotlyjs=bool(first)))
            first = False
    parts.append("</body></html>")
    return "".join(parts).encode("utf-8")


def gate_section(gate: GateResult, heading: str = "Quality gate") -> tuple[str, str, list[Any]]:
    """A report section: the verdict, the checks table and the figures."""
    verdict = html.escape(gate.summary())
    text = f"<p><b>{verdict}</b> (tolerances: {html.escape(gate.level)})</p>{_table(gate)}"
    return heading, text, gate_figures(gate)


def gate_html(gate: GateResult, *, title: str = "Quality gate") -> bytes:
    """The gate as one offline HTML page."""
    return report_html(title, [gate_section(gate)])
