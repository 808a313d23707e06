"""`mltrainer models ...` and `predict`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from mltrainer.cli._output import console as _console


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
    from mltrainer.pipeline import load_bars_for, predict_bars
    from mltrainer.registry import load_model

    model = load_model(args.name, _version(args.version), root=args.root)
    critical = _critical_rule(args.critical)  # bad rule settings fail before any work
    bars = load_bars_for(model.metadata, args.data)  # read as the training bars were
    if args.store:
        from mltrainer.store import open_store

        with open_store(args.store, prefix=args.prefix or "mltrainer") as store:
            predictions = predict_bars(
                model, bars, critical=critical, store=store, record=not args.no_record
            )
    else:
        predictions = predict_bars(model, bars, critical=critical, record=not args.no_record)
    if "decision_id" in predictions.columns:
        _console(stderr=True).print(
            f"{int(predictions['decision_id'].notna().sum())} critical decisions recorded "
            f"(list them with `mltrainer decisions {args.name}`)"
        )
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


def _critical_rule(settings: list[str] | None) -> Any:
    """``--critical key=value`` settings as a validated rule (None when not given)."""
    if not settings:
        return None
    import yaml

    from mltrainer.config import config_from_dict
    from mltrainer.exceptions import ConfigError

    raw: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"--critical {item!r} is not key=value; e.g. --critical probability_above=0.7"
            )
        if key == "symbols":
            raw[key] = [s for s in value.split(",") if s]
        else:
            raw[key] = yaml.safe_load(value)
    # validated like the config file's section: unknown keys get a did-you-mean
    return config_from_dict({"explain": {"critical": raw}}).explain.critical


def register(sub: Any) -> None:
    """Add the commands of this module to the top-level subparsers."""
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
    predict.add_argument(
        "--critical",
        action="append",
        metavar="KEY=VALUE",
        help="critical-decision rule (overrides the stored explain.critical), e.g. "
        "probability_above=0.7, every_n=20, symbols=SPY,QQQ; repeatable",
    )
    predict.add_argument("--store", help="store for decision records (default: the model's)")
    predict.add_argument("--prefix", help="store prefix with --store (default: mltrainer)")
    predict.add_argument("--no-record", action="store_true", help="write no decision records")
    predict.set_defaults(func=_cmd_predict)
