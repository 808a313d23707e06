"""``mltrainer`` commands: parse, call the Python API, print. Errors are one line, exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mltrainer.exceptions import MltrainerError

__all__ = ["main"]

EXIT_ERROR = 2


def _console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:  # pipes and files: wide enough for the score tables
        console.width = max(console.width, 140)
    return console


# -- train ----------------------------------------------------------------------------------
def _cmd_train(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mltrainer.config import load_config
    from mltrainer.pipeline import Trainer

    config = load_config(args.config, overrides=args.set or [])
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
        f" in total; mean {name} = {value:.4f}"
    )
    out.print(f"Saved {result.name} version {result.version} to {result.path}")
    return 0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


# -- config / datasets ----------------------------------------------------------------------
def _cmd_config_show(args: argparse.Namespace) -> int:
    from mltrainer.config import config_to_yaml, load_config

    print(config_to_yaml(load_config(args.config, overrides=args.set or [])), end="")
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


# -- models ---------------------------------------------------------------------------------
def _registry(args: argparse.Namespace) -> Any:
    from mltrainer.registry import ModelRegistry

    return ModelRegistry(args.root)


def _cmd_models_list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    names = [args.name] if args.name else registry.list_models()
    if not names:
        _console().print(f"No models under {args.root}/ yet: run `mltrainer train`.")
        return 0
    table = Table(title=f"Models in {args.root}/")
    for column in ("name", "version", "created_at", "aliases", "score"):
        table.add_column(column)
    for name in names:
        for info in registry.list_versions(name):
            score = info.get("score")
            table.add_row(
                name,
                str(info["version"]),
                str(info.get("created_at", "")),
                ", ".join(info.get("aliases", [])),
                json.dumps(score) if score is not None else "",
            )
    _console().print(table)
    return 0


def _cmd_models_show(args: argparse.Namespace) -> int:
    registry = _registry(args)
    version = _version(args.version)
    metadata = registry.metadata(args.name, version)
    if args.json:
        print(json.dumps(metadata, indent=2, default=str))
        return 0
    out = _console()
    out.print(
        f"[bold]{args.name}[/] version {metadata.get('version')} ({metadata.get('created_at')})"
    )
    for key in ("model_type", "task", "params_source"):
        out.print(f"  {key}: {metadata.get(key)}")
    out.print(f"  label: {metadata.get('label')}")
    out.print(
        f"  features ({len(metadata.get('feature_names', []))}): "
        f"{', '.join(metadata.get('feature_names', []))}"
    )
    data = metadata.get("data", {})
    out.print(
        f"  data: {data.get('source')} {data.get('start')} .. {data.get('end')},"
        f" {data.get('training_rows')} training rows, sha256 {str(data.get('sha256'))[:12]}"
    )
    out.print(f"  cv: {metadata.get('cv')}")
    out.print(f"  mean scores: {metadata.get('scores', {}).get('mean')}")
    out.print(f"  aliases: {registry.aliases(args.name)}")
    return 0


def _cmd_models_promote(args: argparse.Namespace) -> int:
    version = _registry(args).promote(args.name, _version(args.version), alias=args.alias)
    _console().print(f"{args.name}: alias '{args.alias}' -> version {version}")
    return 0


def _cmd_models_rollback(args: argparse.Namespace) -> int:
    version = _registry(args).rollback(args.name, alias=args.alias)
    _console().print(f"{args.name}: alias '{args.alias}' rolled back to version {version}")
    return 0


def _version(text: str) -> int | str:
    return int(text) if text.isdigit() else text


# -- predict --------------------------------------------------------------------------------
def _cmd_predict(args: argparse.Namespace) -> int:
    from mltrainer.data import load_bars
    from mltrainer.pipeline import predict_bars
    from mltrainer.registry import load_model

    model = load_model(args.name, _version(args.version), root=args.root)
    bars = load_bars(args.data)
    predictions = predict_bars(model, bars)
    if args.out:
        out = Path(args.out)
        frame = predictions.reset_index()
        if out.suffix == ".parquet":
            frame.to_parquet(out, index=False)
        else:
            frame.to_csv(out, index=False)
        _console().print(
            f"Wrote {len(predictions)} predictions of {args.name} v{model.version} to {out}"
        )
    else:
        print(predictions.to_csv(), end="")
    return 0


# -- parser ---------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    from mltrainer import __version__

    parser = argparse.ArgumentParser(
        prog="mltrainer",
        description="Train, validate and version trading models on market bars.",
    )
    parser.add_argument("--version", action="version", version=f"mltrainer {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("config", nargs="?", help="YAML config (default: built-in S&P 500 job)")
        p.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="override a config value, e.g. --set cv.n_splits=3 (repeatable)",
        )

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

    models = sub.add_parser("models", help="registered models")
    models.add_argument("--root", default="models", help="registry folder (default: models)")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = models_sub.add_parser("list", help="models and versions")
    listing.add_argument("name", nargs="?")
    listing.set_defaults(func=_cmd_models_list)
    show_model = models_sub.add_parser("show", help="one version's metadata")
    show_model.add_argument("name")
    show_model.add_argument("--version", default="latest")
    show_model.add_argument("--json", action="store_true", help="print the metadata as JSON")
    show_model.set_defaults(func=_cmd_models_show)
    promote = models_sub.add_parser("promote", help="point an alias at a version")
    promote.add_argument("name")
    promote.add_argument("version")
    promote.add_argument("--alias", default="production")
    promote.set_defaults(func=_cmd_models_promote)
    rollback = models_sub.add_parser("rollback", help="move an alias back to its previous version")
    rollback.add_argument("name")
    rollback.add_argument("--alias", default="production")
    rollback.set_defaults(func=_cmd_models_rollback)

    predict = sub.add_parser("predict", help="predict with a registered model on new bars")
    predict.add_argument("name")
    predict.add_argument("--data", required=True, help="bars: a CSV/Parquet path or bundled name")
    predict.add_argument("--out", help="write predictions to this CSV/Parquet file")
    predict.add_argument("--version", default="latest", help="version number or alias")
    predict.add_argument("--root", default="models", help="registry folder (default: models)")
    predict.set_defaults(func=_cmd_predict)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mltrainer`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except MltrainerError as exc:
        if args.debug:
            raise
        _console(stderr=True).print(Text.assemble(("error: ", "red"), str(exc)))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _console(stderr=True).print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
