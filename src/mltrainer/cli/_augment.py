"""`mltrainer augment`: synthetic bar paths (block bootstrap or GAN) and their quality report."""

from __future__ import annotations

import argparse
import html
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from mltrainer.cli._output import console as _console
from mltrainer.cli._output import fmt as _fmt
from mltrainer.exceptions import ConfigError


def print_augmentation(out: Any, report: Any) -> None:
    """The real-only vs augmented table of a training run, and its warning line."""
    table = Table(title=f"Augmentation ({report.method}): real-only vs augmented, same folds")
    for column in ("measure", "real", "augmented", "recalibrated", "delta", "folds better"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    n_folds = report.details.get("n_folds", "")
    for name, row in report.table.iterrows():
        better = row["folds_better"]
        table.add_row(
            str(name),
            _fmt(float(row["real"])),
            _fmt(float(row["augmented"])),
            "" if row.isna()["recalibrated"] else _fmt(float(row["recalibrated"])),
            f"{float(row['delta']):+.4f}",
            "" if row.isna()["folds_better"] else f"{int(better)}/{n_folds}",
        )
    out.print(table)
    synthetic = report.details.get("n_synthetic", [])
    out.print(f"synthetic training rows per fold: {synthetic}")
    gate = report.augmenter_metadata().get("gate")
    if gate:
        verdicts = ", ".join(
            f"{'final' if k == '-1' else 'fold ' + k}: "
            + ("passed" if v["passed"] else "failed " + "/".join(v["failed"]))
            for k, v in gate.items()
        )
        out.print(f"GAN quality gate: {verdicts}")
    if report.note:
        out.print(report.note)
    if report.warning:
        out.print(f"[yellow]warning:[/] {report.warning}")


def _paths(args: argparse.Namespace, bars: Any, out: Any) -> tuple[list[Any], Any, str, bool]:
    """Paths, the gate, a description and whether they may be written."""
    import numpy as np

    from mltrainer.augment import (
        GanSettings,
        bar_channels,
        bootstrap_paths,
        gan_paths,
        holdout_windows,
        quality_gate,
        train_generator,
        windows_from_bars,
    )
    from mltrainer.augment._paths import bar_moves, resolve_block

    train, held = holdout_windows(bar_channels(bars), args.window, args.holdout)
    stride = max(1, args.window // 4)
    if args.method == "block_bootstrap":
        start = time.perf_counter()
        block = args.block if args.block == "auto" else float(args.block)
        length = resolve_block(bar_moves(bars), args.kind, block)
        paths = bootstrap_paths(bars, args.paths, kind=args.kind, block=length, seed=args.seed)
        synthetic = np.concatenate([windows_from_bars(p, args.window, stride) for p in paths])
        gate = quality_gate(train, held, synthetic, level=args.gate, seed=args.seed)
        text = (
            f"{args.paths} {args.kind} block-bootstrap paths of {len(bars)} bars (block "
            f"{length:.1f} bars, {time.perf_counter() - start:.1f} s). The bootstrap resamples "
            "every bar, held-out ones too, and replays real blocks: its gate is a reference "
            "(stylized facts), not a test; the memorisation check is expected to flag it."
        )
        return paths, gate, text, True
    settings = GanSettings(
        window=args.window, epochs=args.epochs, batch_size=args.batch_size, hidden=args.hidden
    )
    out.print(f"training the GAN on {train.shape[0]} windows of {args.window} bars ...")
    generator = train_generator(train, settings, seed=args.seed)
    synthetic = generator.sample(max(held.shape[0], 500), seed=args.seed + 1)
    gate = quality_gate(train, held, synthetic, level=args.gate, seed=args.seed)
    paths = gan_paths(generator, bars, args.paths, seed=args.seed + 2)
    history = generator.history
    text = (
        f"{args.paths} GAN paths of {len(bars)} bars; WGAN-GP trained {history['steps']} "
        f"generator steps in {history['seconds']:.1f} s ({history['steps_per_second']:.1f} "
        f"steps/s) on {train.shape[0]} training windows; gate on {held.shape[0]} held-out "
        "windows (every 5th block of 4 windows' length)."
    )
    if args.save_generator:
        Path(args.save_generator).write_bytes(generator.to_bytes())
    return paths, gate, text, gate.passed or args.allow_failed


def _cmd_augment(args: argparse.Namespace) -> int:
    from mltrainer.augment import gate_section, paths_figure, paths_frame, report_html
    from mltrainer.data import load_bars

    if args.paths < 1:
        raise ConfigError(f"--paths {args.paths}: give at least 1 path")
    out_path = Path(args.out)
    if out_path.suffix.lower() != ".parquet":
        raise ConfigError(f"--out {out_path}: write a .parquet file")
    if args.report and Path(args.report).suffix.lower() != ".html":
        raise ConfigError(f"--report {args.report}: write an .html file")
    bars = load_bars(args.data, start=args.start, end=args.end)
    out = _console()
    paths, gate, text, writable = _paths(args, bars, out)
    out.print(gate.summary())
    table = Table(title="Quality gate (synthetic vs held-out real windows)")
    for column in ("check", "synthetic", "real", "rule", ""):
        table.add_column(column)
    for check in gate.checks:
        table.add_row(
            check.name,
            _fmt(check.value),
            _fmt(check.reference),
            check.rule,
            "pass" if check.passed else "FAIL",
        )
    out.print(table)
    if args.report:
        page = report_html(
            f"Synthetic paths: {args.method} on {args.data}",
            [
                ("Summary", f"<p>{html.escape(text)}</p>", []),
                gate_section(gate),
                ("Paths", "", [paths_figure(bars, paths)]),
            ],
        )
        tmp = Path(args.report).with_suffix(".html.tmp")
        tmp.write_bytes(page)
        tmp.replace(args.report)
        out.print(f"Wrote {args.report}")
    if not writable:
        out.print(
            "[red]The GAN did not pass its quality gate: paths not written[/] "
            "(train longer with --epochs, or --allow-failed to write them anyway)"
        )
        return 1
    frame = paths_frame(paths, extra={"method": args.method})
    tmp = out_path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(out_path)
    out.print(f"Wrote {len(paths)} paths ({len(frame)} bars) to {out_path}")
    return 0


def register(sub: Any) -> None:
    """Add the commands of this module to the top-level subparsers."""
    p = sub.add_parser("augment", help="synthetic bar paths and their quality report")
    p.add_argument("--data", default="sp500", help="bundled dataset or CSV/Parquet path")
    p.add_argument("--method", choices=["block_bootstrap", "gan"], default="block_bootstrap")
    p.add_argument("--paths", type=int, default=100, help="number of paths (default 100)")
    p.add_argument("--out", default="synth.parquet", help="paths, long form (.parquet)")
    p.add_argument("--report", help="quality report (.html, offline)")
    p.add_argument("--start", help="first bar (date)")
    p.add_argument("--end", help="last bar (date)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kind", choices=["stationary", "circular"], default="stationary")
    p.add_argument("--block", default="auto", help="block length in bars, or auto")
    p.add_argument("--window", type=int, default=64, help="bars per window (gate, GAN)")
    p.add_argument("--holdout", type=float, default=0.2, help="share held out for the gate")
    p.add_argument("--gate", choices=["strict", "lenient"], default="strict")
    p.add_argument("--epochs", type=int, default=300, help="GAN epochs")
    p.add_argument("--batch-size", type=int, default=128, help="GAN batch size")
    p.add_argument("--hidden", type=int, default=32, help="GAN hidden units")
    p.add_argument("--save-generator", metavar="FILE", help="save the GAN (torch state_dict)")
    p.add_argument(
        "--allow-failed", action="store_true", help="write GAN paths even if the gate fails"
    )
    p.set_defaults(func=_cmd_augment)
