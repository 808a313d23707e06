"""`mltrainer monitor` and `mltrainer history`."""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from rich.table import Table

from mltrainer.cli._options import cli_config
from mltrainer.cli._output import console as _console
from mltrainer.cli._output import fmt as _fmt


def _config(args: argparse.Namespace) -> Any:
    return cli_config(args, args.config)


def _cmd_monitor(args: argparse.Namespace) -> int:
    from mltrainer.monitor._prometheus import PrometheusExporter
    from mltrainer.monitor._report import drift_effect
    from mltrainer.monitor._run import monitor
    from mltrainer.monitor._window import read_labels
    from mltrainer.pipeline import check_destinations, load_bars_for, retrain
    from mltrainer.registry import ModelRegistry

    config = _config(args)
    retrains = any(rule.action == "retrain" for rule in config.monitor.rules)
    # the store (history, alerts), the report and, for a retrain rule, the registry
    check_destinations(config, registry=retrains, outputs={"--report": args.report})
    registry = ModelRegistry(config.registry.root)
    metadata = registry.metadata(args.name, args.model_version)
    bars = load_bars_for(metadata, args.data)  # read as the model's training bars were
    labels = read_labels(args.labels, metadata) if args.labels else None  # the model's clock
    exporter = PrometheusExporter() if args.metrics_port is not None else None
    out = _console()
    result = monitor(
        args.name,
        bars=bars,
        labels=labels,
        config=config,
        version=args.model_version,
        timestamp=args.timestamp,
        exporter=exporter,
        report=args.report,
        retrain=lambda model, until: retrain(model, until, config=config),
    )
    table = result.feature_drift.table
    effect = drift_effect(table)
    drift = Table(title=f"Feature drift of {result.model} v{result.version} (ranked by effect)")
    shown = ["test", "statistic", "p_adjusted", "psi", "effect", "effect_threshold", "drifted"]
    shown = [c for c in shown if c in table.columns]
    drift.add_column("feature")
    for column in shown:
        drift.add_column(column, justify="right")
    for feature in effect.index:
        row = table.loc[feature]
        cells = [
            _fmt(row[c]) if c != "drifted" else ("[red]yes[/]" if row[c] else "no") for c in shown
        ]
        drift.add_row(str(feature), *cells)
    out.print(drift)
    metrics = Table(title="Metrics")
    metrics.add_column("metric")
    metrics.add_column("value", justify="right")
    metrics.add_column("note")
    for name, value in result.metrics.items():
        note = result.reasons.get(name, "")
        metrics.add_row(name, "NaN" if math.isnan(value) else _fmt(float(value)), note)
    out.print(metrics)
    n_drifted = len(result.drifted)
    out.print(_rows_line(result.window, len(bars), metadata))
    out.print(
        f"{len(result.window.X) if result.window else 0} rows, "
        f"{int(result.metrics.get('n_labelled', 0))} labelled; {n_drifted} of {len(table)} "
        f"features drifted{': ' + ', '.join(result.drifted) if n_drifted else ''}"
    )
    for alert in result.alerts:
        out.print(f"[red]ALERT[/] {alert.message}")
    if result.report is not None:
        out.print(f"Report written to {result.report}")
    if exporter is not None:
        port = exporter.serve(args.metrics_port, addr=args.metrics_addr)
        out.print(
            f"Serving Prometheus metrics on http://{args.metrics_addr}:{port}/metrics"
            + (f" for {args.serve_for:g} s" if args.serve_for is not None else "; Ctrl-C stops")
        )
        try:
            deadline = math.inf if args.serve_for is None else time.monotonic() + args.serve_for
            while time.monotonic() < deadline:
                time.sleep(min(0.2, max(deadline - time.monotonic(), 0.0)))
        finally:
            exporter.close()
    return 0


def _rows_line(window: Any, n_bars: int, metadata: dict[str, Any]) -> str:
    """Where the bars went: monitored, warm-up, training period, after --timestamp."""
    n_rows = len(window.X)
    later = n_bars - n_rows - window.n_warmup - window.n_in_training
    parts = [f"{window.n_warmup} went to the features' warm-up"]
    if window.n_in_training:
        last_t1 = (metadata.get("data") or {}).get("last_t1")
        parts.append(
            f"{window.n_in_training} are at or before the training data (last label end {last_t1})"
        )
    if later > 0:
        parts.append(f"{later} are after --timestamp")
    return f"Monitored {n_rows} of {n_bars} bars: " + ", ".join(parts)


def _cmd_history(args: argparse.Namespace) -> int:
    from mltrainer.monitor._history import history, history_frame, to_utc, tracked
    from mltrainer.store import open_store

    config = _config(args)
    start = None if args.start is None else to_utc(args.start)
    end = None if args.end is None else to_utc(args.end)
    out = _console()
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        if not tracked(store, args.name):
            _known_model(config, args.name)  # an unknown model is an error, exit 2
            out.print(
                f"no history of {args.name} yet: `mltrainer monitor {args.name} --data BARS`"
                " records one point per metric and run"
            )
            return 0
        if args.metric:
            frame = history(store, args.name, args.metric, start, end).to_frame()
        else:
            frame = history_frame(store, args.name, start=start, end=end)
    if args.last is not None:
        frame = frame.iloc[-args.last :] if args.last > 0 else frame.iloc[:0]
    if frame.empty:
        given = [f"from {start}" if start is not None else "", f"to {end}" if end else ""]
        span = " ".join(part for part in given if part)
        what = f"{args.metric} of {args.name}" if args.metric else args.name
        out.print(f"no points of {what}" + (f" {span}" if span else " recorded"))
        return 0
    if args.metric:  # the series, one row per run
        table = Table(title=f"History of {args.name}: {args.metric}")
        table.add_column("timestamp")
        table.add_column(args.metric, justify="right")
        for stamp, value in frame[args.metric].items():
            table.add_row(str(stamp), "NaN" if math.isnan(value) else _fmt(float(value)))
    else:  # one row per metric: too many metrics for columns
        span = f"{frame.index[0]} .. {frame.index[-1]}"
        table = Table(title=f"History of {args.name}: {len(frame)} runs, {span}")
        for column in ("metric", "points", "latest", "mean", "min", "max"):
            table.add_column(column, justify="left" if column == "metric" else "right")
        for name in frame.columns:
            series = frame[name].dropna()
            if series.empty:
                table.add_row(str(name), "0", "NaN", "", "", "")
                continue
            stats = (series.iloc[-1], series.mean(), series.min(), series.max())
            table.add_row(str(name), str(len(series)), *(_fmt(float(v)) for v in stats))
    out.print(table)
    return 0


def _known_model(config: Any, name: str) -> None:
    """Raise NotFoundError when ``name`` is no model of the registry (and has no history)."""
    from mltrainer.exceptions import NotFoundError, did_you_mean
    from mltrainer.registry import ModelRegistry
    from mltrainer.store import mask_password

    models = ModelRegistry(config.registry.root).list_models()
    if name not in models:
        raise NotFoundError(
            f"no model named {name!r}{did_you_mean(name, models)}: no history in store"
            f" {mask_password(config.store.url)} and no versions in {config.registry.root}/;"
            f" models: {models or 'none saved yet'}"
        )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="registered model name")
    p.add_argument("--config", help="YAML config (registry, store, monitor rules and sinks)")


def register(sub: Any) -> None:
    """Add the commands of this module to the top-level subparsers."""
    mon = sub.add_parser(
        "monitor", help="drift, metrics, history and alerts of a model on current bars"
    )
    _common(mon)
    mon.add_argument("--data", required=True, help="current bars (CSV or Parquet) or a dataset")
    mon.add_argument("--labels", help="realised labels (CSV/Parquet: timestamp, label[, return])")
    mon.add_argument("--report", metavar="FILE.html", help="write the HTML report there")
    mon.add_argument("--version", dest="model_version", default="latest", help="version/alias")
    mon.add_argument("--timestamp", help="time of this run in the history (default: now)")
    mon.add_argument(
        "--metrics-port", type=int, metavar="P", help="serve Prometheus gauges on port P"
    )
    mon.add_argument("--metrics-addr", default="0.0.0.0", help="address to serve them on")
    mon.add_argument(
        "--serve-for",
        type=float,
        metavar="SECONDS",
        help="with --metrics-port: stop serving after this long (default: until Ctrl-C)",
    )
    mon.set_defaults(func=_cmd_monitor)

    hist = sub.add_parser("history", help="print a model's recorded metric history")
    _common(hist)
    hist.add_argument("--metric", help="one metric (default: every tracked metric)")
    hist.add_argument("--start", help="first time (ISO-8601, UTC)")
    hist.add_argument("--end", help="last time (ISO-8601, UTC)")
    hist.add_argument("--last", type=int, metavar="N", help="only the newest N points")
    hist.set_defaults(func=_cmd_history)
