"""`mltrainer models ...` and `predict`."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from mltrainer.cli._options import cli_config
from mltrainer.cli._output import console as _console
from mltrainer.cli._output import fmt_mapping, plain
from mltrainer.cli._train import tuning_note


# -- models ---------------------------------------------------------------------------------
def _registry(args: argparse.Namespace) -> Any:
    from mltrainer.registry import ModelRegistry

    return ModelRegistry(cli_config(args).registry.root)


def _cmd_models_list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    names = [args.name] if args.name else registry.list_models()
    out = _console()
    if not names:
        out.print(f"No models under {registry.root}/ yet: run `mltrainer train`.")
        return 0
    table = Table(title=f"Models in {registry.root}/")
    for column in ("name", "version", "created (UTC)", "aliases", "parent", "check"):
        table.add_column(column)
    table.add_column("mean scores", no_wrap=True)
    problems: list[str] = []
    for name in names:
        for info in registry.list_versions(name):
            score = info.get("score")
            ok = info.get("ok", True)
            if not ok:
                problems.append(f"{name} v{info['version']}: {info.get('problem')}")
            table.add_row(
                name,
                str(info["version"]),
                _when(info.get("created_at")),
                ", ".join(info.get("aliases", [])),
                "" if info.get("parent") is None else str(info["parent"]),
                "ok" if ok else "[red]FAILED[/]",
                fmt_mapping(score) if isinstance(score, dict) else "",
            )
    out.print(table)
    for problem in problems:
        out.print(f"[red]check failed[/] {problem}")
    return 0


def _when(stamp: Any) -> str:
    """An ISO-8601 time to the second, in UTC (the registry writes UTC)."""
    if not isinstance(stamp, str):
        return ""
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


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
    for key in ("model_type", "task", "params_source", "parent"):
        if metadata.get(key) is not None:
            out.print(f"  {key}: {plain(metadata.get(key))}")
    out.print(f"  label: {plain(metadata.get('label'))}")
    out.print(
        f"  features ({len(metadata.get('feature_names', []))}): "
        f"{', '.join(metadata.get('feature_names', []))}"
    )
    data = metadata.get("data", {})
    out.print(
        f"  data: {data.get('source')} {data.get('start')} .. {data.get('end')},"
        f" {data.get('training_rows')} training rows, sha256 {str(data.get('sha256'))[:12]}"
    )
    out.print(f"  cv: {plain(metadata.get('cv'))}")
    out.print(f"  mean scores: {plain(metadata.get('scores', {}).get('mean'))}")
    note = tuning_note(metadata.get("scores") or {})
    if note:
        out.print(f"  [yellow]{note}[/]")
    if metadata.get("ensemble"):
        _print_ensemble(out, metadata["ensemble"])
    out.print(f"  aliases: {plain(registry.aliases(args.name)) or 'none'}")
    return 0


def _print_ensemble(out: Any, ensemble: dict[str, Any]) -> None:
    """Members, weights / meta coefficients, the regime rule and the verdict of an ensemble."""
    from rich.markup import escape

    out.print(f"  ensemble: {ensemble.get('combine')} ({ensemble.get('kind')})")
    out.print(f"    members: {', '.join(ensemble.get('members', []))}")
    for key in ("weights", "meta", "coefficients", "passthrough", "regime", "assignment"):
        if ensemble.get(key) not in (None, [], {}):
            out.print(escape(f"    {key}: {ensemble[key]}"))
    if ensemble.get("fallbacks"):
        out.print(escape(f"    fallback regimes: {ensemble['fallbacks']}"))
    means = dict(ensemble.get("mean", {}).get(ensemble.get("headline"), {}))
    if means:
        first = [name for name in ("ensemble", "average") if name in means]
        order = first + [name for name in means if name not in first]
        shown = ", ".join(f"{name} {means[name]:.4f}" for name in order)
        out.print(f"    mean {ensemble.get('headline')} out of sample: {shown}")
    if ensemble.get("verdict"):
        out.print(f"    {ensemble['verdict']}")


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
#: The alias ``predict`` uses when no --version is given (and it exists).
DEFAULT_ALIAS = "production"


def default_version(registry: Any, name: str, given: str | None) -> tuple[int | str, str]:
    """The version to use and how it was chosen: ``given``, else the ``production`` alias
    when the model has one, else the latest version."""
    if given is not None:
        return _version(given), f"--version {given}"
    if DEFAULT_ALIAS in registry.aliases(name):
        return DEFAULT_ALIAS, f"alias {DEFAULT_ALIAS!r}"
    return "latest", f"latest; no {DEFAULT_ALIAS!r} alias"


def _cmd_predict(args: argparse.Namespace) -> int:
    from mltrainer.pipeline import check_output_file, load_bars_for, predict_bars

    registry = _registry(args)
    if args.out:
        check_output_file(args.out, what="--out")
    version, chosen = default_version(registry, args.name, args.version)
    model = registry.load(args.name, version)
    critical = _critical_rule(args.critical)  # bad rule settings fail before any work
    bars = load_bars_for(model.metadata, args.data)  # read as the training bars were
    if args.store:  # the global --store: decision records go there
        from mltrainer.store import open_store

        with open_store(args.store, prefix=args.prefix or "mltrainer") as store:
            predictions = predict_bars(
                model, bars, critical=critical, store=store, record=not args.no_record
            )
    else:
        predictions = predict_bars(model, bars, critical=critical, record=not args.no_record)
    n_warmup = len(bars) - len(predictions)
    # the CSV goes to stdout when there is no --out: the notes go to stderr then
    notes = _console(stderr=not args.out)
    notes.print(
        f"Predicted with {args.name} v{model.version} ({chosen}): {len(predictions)} of"
        f" {len(bars)} rows; {n_warmup} went to the features' warm-up (no prediction)"
    )
    if "decision_id" in predictions.columns:
        notes.print(
            f"{int(predictions['decision_id'].notna().sum())} critical decisions recorded "
            f"(list them with `mltrainer decisions {args.name}`)"
        )
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        frame = predictions.reset_index()
        if out.suffix == ".parquet":
            frame.to_parquet(out, index=False)
        else:
            frame.to_csv(out, index=False)
        notes.print(f"Wrote {len(predictions)} predictions to {out}")
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
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = models_sub.add_parser("list", help="models and versions, with a check of each")
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
    predict.add_argument(
        "--version",
        help=f"version number or alias (default: the {DEFAULT_ALIAS!r} alias, else the latest)",
    )
    predict.add_argument(
        "--critical",
        action="append",
        metavar="KEY=VALUE",
        help="critical-decision rule (overrides the stored explain.critical), e.g. "
        "probability_above=0.7, every_n=20, symbols=SPY,QQQ; repeatable",
    )
    predict.add_argument("--prefix", help="store prefix with --store (default: mltrainer)")
    predict.add_argument("--no-record", action="store_true", help="write no decision records")
    predict.set_defaults(func=_cmd_predict)
