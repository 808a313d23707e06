"""`mltrainer train`, `config show` and `datasets`."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from mltrainer.cli._options import cli_config
from mltrainer.cli._output import console as _console
from mltrainer.cli._output import fmt as _fmt


# -- train ----------------------------------------------------------------------------------
def _cmd_train(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mltrainer.pipeline import Trainer

    config = cli_config(args, args.config)
    out = _console()
    out.print(
        f"Training [bold]{config.name}[/]: {config.model.type} on {config.data.source},"
        f" label {config.label.get('name')}, cv {config.cv.method}"
    )
    with Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=True,
        disable=args.quiet,
    ) as bar:
        task = bar.add_task("load", total=5)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        result = Trainer(config, progress=progress).run()

    table = Table(title="Out-of-sample scores per fold")
    shown = ["split", *result.mean_scores, "n_train", "n_test", "n_purged", "n_embargoed"]
    shown = [c for c in shown if c in result.folds.columns]
    for column in shown:
        table.add_column(column, justify="right")
    for _, row in result.folds.iterrows():
        table.add_row(*(_fmt(row[c]) for c in shown))
    table.add_section()
    table.add_row("mean", *(_fmt(result.mean_scores.get(c, "")) for c in shown[1:]))
    table.add_row("std", *(_fmt(result.std_scores.get(c, "")) for c in shown[1:]))
    out.print(table)
    name, value = result.headline
    out.print(
        f"{result.n_rows} rows x {len(result.feature_names)} features;"
        f" purged {result.cv['n_purged']}, embargoed {result.cv['n_embargoed']} training rows"
        f" in total; mean {name} = {_fmt(value)}"
    )
    if result.ensemble is not None:
        _print_ensemble(out, result.ensemble)
    if result.augmentation is not None:
        from mltrainer.cli._augment import print_augmentation

        print_augmentation(out, result.augmentation)
    out.print(f"Saved {result.name} version {result.version} to {result.path}")
    note = tuning_note(_saved_scores(config, result))
    if note:
        out.print(f"[yellow]{note}[/]")
    return 0


def _saved_scores(config: Any, result: Any) -> dict[str, Any]:
    from mltrainer.registry import ModelRegistry

    metadata = ModelRegistry(config.registry.root).metadata(result.name, result.version)
    return dict(metadata.get("scores") or {})


def tuning_note(scores: dict[str, Any]) -> str:
    """One line saying the CV scores are in-sample to the tuning ('' when they are not)."""
    if not scores.get("in_sample_to_tuning"):
        return ""
    estimate = scores.get("nested_estimate") or {}
    honest = (
        f"nested estimate {estimate.get('scorer')} = {_fmt(estimate['score'])}"
        f" (study {estimate.get('study')})"
        if estimate.get("score") is not None
        else "no nested estimate: run `mltrainer tune --nested` for one"
    )
    return (
        "in-sample to the tuning: these CV scores are on the folds the optimized params were"
        f" picked on, so optimistic; {honest}"
    )


def _print_ensemble(out: Any, report: Any) -> None:
    """The ensemble beside each member and the equal-weight average, on the same folds."""
    folds = report.folds
    table = Table(title=f"Ensemble vs members, {report.headline} on the same outer folds")
    columns = [str(c) for c in folds.columns]
    for column in columns:
        table.add_column(column, justify="right")
    for _, row in folds.iterrows():
        table.add_row(str(int(row["split"])), *(_fmt(row[c]) for c in columns[1:]))
    table.add_section()
    means = report.means()
    table.add_row("mean", *(_fmt(means[c]) for c in columns[1:]))
    out.print(table)
    out.print(report.verdict)


# -- config / datasets ----------------------------------------------------------------------
def _cmd_config_show(args: argparse.Namespace) -> int:
    from mltrainer.config import config_to_yaml

    print(config_to_yaml(cli_config(args, args.config)), end="")
    return 0


def _cmd_datasets(args: argparse.Namespace) -> int:
    from mltrainer.data import list_datasets

    frame = list_datasets()
    table = Table(title="Bundled datasets")
    for column in frame.columns:
        table.add_column(str(column))
    for _, row in frame.iterrows():
        table.add_row(*(str(v) for v in row))
    _console().print(table)
    return 0


def config_args(p: argparse.ArgumentParser) -> None:
    """The optional YAML config of a command (``--set`` is a global option)."""
    p.add_argument("config", nargs="?", help="YAML config (default: built-in S&P 500 job)")


def register(sub: Any) -> None:
    """Add the commands of this module to the top-level subparsers."""
    train = sub.add_parser("train", help="train a model and register it")
    config_args(train)
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(func=_cmd_train)

    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = config_sub.add_parser("show", help="print the effective config")
    config_args(show)
    show.set_defaults(func=_cmd_config_show)

    sub.add_parser("datasets", help="list the bundled datasets").set_defaults(func=_cmd_datasets)
