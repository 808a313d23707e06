"""An HTML report of a stream run: rolling prequential scores, drift alarms and versions."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mltrainer.exceptions import ConfigError

__all__ = ["write_stream_report"]


def _rolling(scored: pd.DataFrame, kind: str, window: int) -> pd.DataFrame:
    frame = scored.set_index("t1").sort_index()
    out = pd.DataFrame(index=frame.index)
    if kind == "classification":
        out["log loss"] = frame["loss"].rolling(window, min_periods=max(window // 4, 1)).mean()
        hit = (frame["y"] == frame["predicted"]).astype(float)
        out["accuracy"] = hit.rolling(window, min_periods=max(window // 4, 1)).mean()
    else:
        out["mse"] = frame["loss"].rolling(window, min_periods=max(window // 4, 1)).mean()
    return out


def write_stream_report(result: Any, path: str | os.PathLike[str], *, window: int = 100) -> Path:
    """Write a self-contained HTML report of a :class:`~mltrainer.online.StreamResult`.

    Parameters
    ----------
    result : StreamResult
        From :func:`~mltrainer.online.run_stream` or :func:`~mltrainer.online.replay`.
    path : path-like
        The ``.html`` file (parent directories are created).
    window : int, default 100
        Matured predictions in each rolling score.

    Returns
    -------
    Path
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"report {str(target)!r} must be an .html file")
    scored = result.scored if result.scored is not None else pd.DataFrame()
    rolling = _rolling(scored, result.kind, window) if len(scored) else pd.DataFrame()
    columns = list(rolling.columns)
    figure = make_subplots(
        rows=max(len(columns), 1), cols=1, shared_xaxes=True, subplot_titles=columns
    )
    for i, column in enumerate(columns, start=1):
        figure.add_trace(
            go.Scatter(x=rolling.index, y=rolling[column], name=column, mode="lines"), row=i, col=1
        )
    for event in result.events:
        accepted = event.get("type") == "refit" and bool((event.get("refit") or {}).get("accepted"))
        if event.get("type") == "refit" and not accepted:
            continue
        figure.add_vline(
            x=pd.Timestamp(event["timestamp"]).timestamp() * 1000,
            line_dash="solid" if accepted else "dot",
            line_color="firebrick" if accepted else "grey",
        )
    figure.update_layout(
        title=f"Stream {result.name}: rolling prequential scores ({window} matured predictions)",
        height=300 * max(len(columns), 1),
        showlegend=False,
    )
    metrics = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v:.5g}</td></tr>"
        for k, v in result.metrics.items()
        if isinstance(v, float) and np.isfinite(v)
    )
    events = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(str(e.get("timestamp"))),
            html.escape(str(e.get("type"))),
            html.escape(str(e.get("version"))),
            html.escape(str(e.get("new_version") or "")),
            html.escape(
                e["refit"]["reason"] if isinstance(e.get("refit"), dict) else str(e.get("refit"))
            ),
        )
        for e in result.events
    )
    latency = ", ".join(f"{k} {v:.0f}" for k, v in result.latency_us.items() if k != "n")
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>mltrainer stream {html.escape(str(result.name))}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 10px;text-align:left}}</style>
</head><body>
<h1>Stream {html.escape(str(result.name))}</h1>
<p>{result.bars} bars, model version {result.version}, new versions {result.versions or "none"};
per-bar latency (us): {latency or "n/a"}. Dotted grey lines: drift alarms; solid red: refits
that replaced the model.</p>
{figure.to_html(include_plotlyjs=True, full_html=False)}
<h2>Prequential scores and counters</h2><table>{metrics}</table>
<h2>Drift alarms and refits</h2>
<table><tr><th>time</th><th>event</th><th>version</th><th>new version</th><th>decision</th>
</tr>{events}</table>
</body></html>"""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp")
    temp.write_text(page, encoding="utf-8")
    os.replace(temp, target)
    return target
