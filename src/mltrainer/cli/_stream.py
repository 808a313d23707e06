"""`mltrainer stream`: replay history as a stream, or consume live bars from a Redis Stream."""

from __future__ import annotations

import argparse
import math
from typing import Any

from rich.table import Table

from mltrainer.cli._output import console as _console
from mltrainer.cli._output import fmt as _fmt


def _settings(args: argparse.Namespace) -> tuple[str, str, str]:
    """Registry root, store URL and prefix: flags first, then the config, then defaults."""
    from mltrainer.config import load_config

    config = load_config(args.config, overrides=args.set or [])
    root = args.root or config.registry.root
    url = args.store or config.store.url
    return root, url, config.store.prefix


def _load_bars(source: str, symbol: str | None) -> Any:
    from mltrainer.data import load_bars
    from mltrainer.exceptions import ConfigError

    bars = load_bars(source, symbols=[symbol] if symbol else None)
    if "symbol" in bars.columns:
        symbols = sorted(map(str, bars["symbol"].unique()))
        if len(symbols) > 1:
            raise ConfigError(f"{source} holds symbols {symbols}; stream one of them with --symbol")
        bars = bars.drop(columns="symbol")
    return bars


def _processor(args: argparse.Namespace, root: str, stream_name: str) -> Any:
    """The processor of the registered model, set up from the flags."""
    from mltrainer.monitor import ADWINDetector
    from mltrainer.online import RefitPolicy, RingBuffer, StreamProcessor
    from mltrainer.registry import ModelRegistry

    registry = ModelRegistry(root)
    model = registry.load(args.name, args.model_version)
    buffer = RingBuffer(args.buffer, n_features=len(model.feature_names))
    return StreamProcessor(
        model,
        buffer=buffer,
        updater=args.updater,
        update=args.update,
        detector=ADWINDetector(delta=args.drift_delta) if not args.no_drift else False,
        refit=RefitPolicy(enabled=not args.no_refit),
        registry=registry,
        name=args.name,
        stream_name=stream_name,
        symbol=args.symbol,
    )


def _warn_in_sample(out: Any, processor: Any, start: Any) -> None:
    import pandas as pd

    last_t1 = (processor.metadata.get("data") or {}).get("last_t1")
    if last_t1 is None:
        return
    first = pd.Timestamp(start)
    first = first.tz_localize("UTC") if first.tzinfo is None else first
    if pd.Timestamp(last_t1) >= first:
        out.print(
            f"[yellow]warning:[/] version {processor.version} was trained on labels up to "
            f"{last_t1}; the replay from {first.date()} overlaps its training data (in-sample)"
        )


def _print_result(out: Any, result: Any, processor: Any, registry_root: str) -> None:
    from mltrainer.registry import ModelRegistry

    table = Table(
        title=f"Prequential scores of {result.name} (each prediction scored before it was learnt)"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.metrics.items():
        if key.startswith("prequential."):
            shown = "NaN" if isinstance(value, float) and math.isnan(value) else _fmt(float(value))
            table.add_row(key.removeprefix("prequential."), shown)
    out.print(table)
    c = result.counters
    out.print(
        f"{result.bars} bars: {c['predicted']} predicted, {c['warmup']} in warm-up, "
        f"{c['invalid']} invalid, {c['rejected']} rejected; {c['matured']} labels matured, "
        f"{c['learned']} rows learnt ({processor.updater.method}, "
        f"{'every bar' if processor.batch_size == 1 else f'batches of {processor.batch_size}'})"
    )
    for reason, count in sorted(c.get("reasons", {}).items()):
        out.print(f"  {count} x {reason}")
    if result.latency_us:
        out.print(
            f"per bar: p50 {result.latency_us['p50']:.0f} us, p99 {result.latency_us['p99']:.0f} us"
        )
    for event in result.events:
        refit = event.get("refit")
        what = refit["reason"] if isinstance(refit, dict) else str(refit)
        new = f" -> saved as version {event['new_version']}" if event.get("new_version") else ""
        out.print(
            f"{event['type']} at {event['timestamp']} (version {event['version']}): {what}{new}"
        )
    if result.versions:
        registry = ModelRegistry(registry_root)
        for version in result.versions:
            lineage = registry.lineage(processor.name, version)
            out.print(f"saved {processor.name} version {version}, lineage {lineage}")
    out.print(f"running version {result.version}; {result.checkpoints} checkpoints")


def _cmd_stream(args: argparse.Namespace) -> int:
    from mltrainer.exceptions import ConfigError
    from mltrainer.monitor import PrometheusExporter
    from mltrainer.online import (
        RedisStreamSink,
        RedisStreamSource,
        replay,
        run_stream,
        write_stream_report,
    )
    from mltrainer.store import open_store

    if (args.replay is None) == (args.source is None):
        raise ConfigError("give one of --replay SOURCE (a backtest) or --source redis://... (live)")
    if args.source is not None and not args.stream:
        raise ConfigError("--source needs --stream KEY (the Redis Stream of bars)")
    root, url, prefix = _settings(args)
    out = _console()
    live = args.source is not None
    stream_name = args.stream_name or (args.name if live else f"{args.name}.replay")
    processor = _processor(args, root, stream_name)
    exporter = PrometheusExporter() if args.metrics_port is not None else None
    if exporter is not None:
        port = exporter.serve(args.metrics_port, addr=args.metrics_addr)
        out.print(f"Serving Prometheus metrics on http://{args.metrics_addr}:{port}/metrics")
    try:
        with open_store(url, prefix=prefix) as store:
            out.print(
                f"Streaming [bold]{args.name}[/] version {processor.version} "
                f"({processor.updater.method}), store {store!r}"
            )
            if live:
                source = RedisStreamSource(
                    args.source,
                    stream=args.stream,
                    group=args.group,
                    consumer=args.consumer or stream_name,
                    idle_exit=args.idle_exit,
                )
                sinks = []
                publish = args.publish or f"predictions:{args.name}"
                if publish != "none":
                    sinks.append(RedisStreamSink(args.source, stream=publish, order=source.order))
                if args.history:
                    processor.prime(_load_bars(args.history, args.symbol))
                result = run_stream(
                    processor,
                    source,
                    store=store,
                    sinks=sinks,
                    checkpoint_every=args.checkpoint_every,
                    resume=not args.fresh,
                    exporter=exporter,
                    max_bars=args.max_bars,
                )
            else:
                if args.start is None:
                    raise ConfigError("--replay needs --from DATE (the first bar streamed)")
                bars = _load_bars(args.replay, args.symbol)
                _warn_in_sample(out, processor, args.start)
                result = replay(
                    processor,
                    bars,
                    start=args.start,
                    end=args.end,
                    store=store,
                    checkpoint_every=args.checkpoint_every,
                    resume=args.resume,
                    exporter=exporter,
                    max_bars=args.max_bars,
                )
    finally:
        if exporter is not None:
            exporter.close()
    _print_result(out, result, processor, root)
    if args.report:
        path = write_stream_report(result, args.report)
        out.print(f"Report written to {path}")
    return 0


def register(sub: Any) -> None:
    """Add ``mltrainer stream`` to the top-level subparsers."""
    p = sub.add_parser(
        "stream",
        help="online learning: replay history as a stream or consume live bars from Redis",
        description=(
            "Predict on each bar, learn from labels only once they mature, refit on drift "
            "(saved as a new version whose parent is the running one), checkpoint and resume."
        ),
    )
    p.add_argument("name", help="registered model name")
    p.add_argument("--version", dest="model_version", default="latest", help="version or alias")
    where = p.add_argument_group("source (one of)")
    where.add_argument(
        "--replay", metavar="SOURCE", help="bars to replay: sp500, nasdaq, CSV, Parquet"
    )
    where.add_argument("--source", metavar="URL", help="live bars: redis://host:6379/0")
    p.add_argument("--from", dest="start", metavar="DATE", help="first bar streamed (replay)")
    p.add_argument("--to", dest="end", metavar="DATE", help="last bar streamed (replay)")
    p.add_argument("--symbol", help="the instrument of a multi-symbol source")
    p.add_argument("--stream", metavar="KEY", help="Redis Stream of bars, e.g. bars:SPX")
    p.add_argument("--group", default="mltrainer", help="consumer group (default mltrainer)")
    p.add_argument(
        "--consumer", help="consumer name, stable across restarts (default: the stream name)"
    )
    p.add_argument(
        "--publish",
        metavar="KEY",
        help="prediction stream (default predictions:NAME; 'none' to skip)",
    )
    p.add_argument(
        "--history", metavar="SOURCE", help="bars before the live stream, to fill the warm-up"
    )
    p.add_argument(
        "--idle-exit", type=float, metavar="SECONDS", help="stop after this long without bars"
    )
    p.add_argument("--update", help="every_bar or batch:N (default: the updater's)")
    p.add_argument(
        "--updater", help="partial_fit, continue, refit or none (default: the model type's)"
    )
    p.add_argument("--buffer", type=int, default=5000, help="rows kept for refits (default 5000)")
    p.add_argument(
        "--checkpoint-every", type=int, default=256, metavar="N", help="bars between checkpoints"
    )
    p.add_argument(
        "--resume", action="store_true", help="replay: continue from the stored checkpoint"
    )
    p.add_argument("--fresh", action="store_true", help="live: ignore the stored checkpoint")
    p.add_argument(
        "--stream-name", help="name of the stream's store records (default NAME, NAME.replay)"
    )
    p.add_argument("--drift-delta", type=float, default=0.002, help="ADWIN delta (default 0.002)")
    p.add_argument("--no-drift", action="store_true", help="no drift detection")
    p.add_argument("--no-refit", action="store_true", help="record drift alarms, never refit")
    p.add_argument("--max-bars", type=int, metavar="N", help="stop after N bars")
    p.add_argument("--report", metavar="FILE.html", help="write an HTML report of the run")
    p.add_argument("--root", help="registry folder (default: the config's, models)")
    p.add_argument("--store", metavar="URL", help="store URL (default: the config's)")
    p.add_argument("--config", help="YAML config (registry root, store)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config value")
    p.add_argument(
        "--metrics-port", type=int, metavar="P", help="serve Prometheus gauges on port P"
    )
    p.add_argument("--metrics-addr", default="0.0.0.0", help="address to serve them on")
    p.set_defaults(func=_cmd_stream)
