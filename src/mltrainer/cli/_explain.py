"""`mltrainer explain` (attributions of a version on bars, plots, LIME) and `decisions`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from mltrainer.cli._output import console as _console
from mltrainer.cli._output import fmt


def _version(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _frame_for(args: argparse.Namespace, model: Any) -> Any:
    import numpy as np
    import pandas as pd

    from mltrainer.exceptions import DataError
    from mltrainer.pipeline import load_bars_for, model_features

    bars = load_bars_for(model.metadata, args.data)  # warm-up history before --since kept
    X, _ = model_features(model, bars)
    index = pd.DatetimeIndex(X.index)
    keep = np.ones(len(X), dtype=bool)
    if args.since:
        keep &= index >= _stamp(args.since, index)
    if args.until:
        keep &= index <= _stamp(args.until, index)
    X = X.loc[keep]
    if not len(X):
        raise DataError(
            f"no feature row of {args.data} between --since {args.since} and --until "
            f"{args.until}; widen the window"
        )
    return X


def _stamp(text: str, index: Any) -> Any:
    import pandas as pd

    stamp = pd.Timestamp(text)
    if stamp.tzinfo is None and index.tz is not None:
        stamp = stamp.tz_localize(index.tz)
    return stamp


def _write_contributions(path: Path, explanation: Any) -> None:
    import pandas as pd

    frames = []
    for k, output in enumerate(explanation.outputs):
        frame = explanation.frame(k)
        if explanation.n_outputs > 1:
            frame.columns = [f"{output}:{c}" for c in frame.columns]
        frames.append(frame)
    table = pd.concat(frames, axis=1)
    for k, output in enumerate(explanation.outputs):
        suffix = f":{output}" if explanation.n_outputs > 1 else ""
        table[f"base{suffix}"] = explanation.base[:, k]
        table[f"output{suffix}"] = explanation.output[:, k]
    table = table.reset_index()
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)


def _cmd_explain(args: argparse.Namespace) -> int:
    from mltrainer.explain import Explainer, lime_explain, write_explanation_html
    from mltrainer.registry import load_model

    model = load_model(args.name, _version(args.version), root=_root(args))
    X = _frame_for(args, model)
    explainer = Explainer(model, method=args.method, max_rows=args.max_rows)
    explanation = explainer.explain(X)  # refused before any work above the budget
    out = _console()
    summary = explanation.summary()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        methods = ", ".join(f"{k}: {v}" for k, v in explainer.method_names.items())
        out.print(
            f"[bold]{args.name}[/] v{model.version}: {explanation.n_rows} rows "
            f"{explanation.index[0]} .. {explanation.index[-1]}; method "
            f"{explanation.method} ({methods}), "
            f"{explanation.space} space, outputs {explanation.outputs}"
        )
        out.print(
            f"additivity: max residual {explanation.max_residual:.2e} "
            f"(tolerance {explanation.tolerance:.1e}) -> "
            + ("[green]holds[/]" if explanation.additive else "[red]does not hold[/]")
        )
        for note in explanation.notes:
            out.print(f"  note: {note}")
        table = Table(title="mean |contribution| per feature")
        table.add_column("feature")
        table.add_column("mean |contribution|", justify="right")
        training = ((model.metadata.get("explain") or {}).get("global") or {}).get("mean_abs")
        if training:
            table.add_column("training (out of fold)", justify="right")
        for name, value in explanation.mean_abs().iloc[: args.top].items():
            row = [str(name), fmt(float(value))]
            if training:
                row.append(fmt(float(training.get(str(name), float("nan")))))
            table.add_row(*row)
        out.print(table)
        last = explanation.top(-1 % explanation.n_rows, k=args.top_contributions)
        out.print(
            f"last decision ({explanation.index[-1]}): base "
            f"{explanation.base[-1].round(4).tolist()}"
            f" -> output {explanation.output[-1].round(4).tolist()}; top: "
            + ", ".join(f"{name} {value:+.4f}" for name, value in last)
        )
    if args.lime:
        rows = X.iloc[-args.lime :]
        lime = lime_explain(
            model,
            rows,
            num_samples=args.lime_samples,
            repeats=args.lime_repeats,
            compare=explanation.rows(slice(-len(rows), None)),
        )
        for i, when in enumerate(lime.index):
            out.print(
                f"LIME {when}: top {', '.join(f'{n} {w:+.3f}' for n, w in lime.top(i))}; "
                f"stability {lime.stability[i]:.2f} (worst pair {lime.stability_min[i]:.2f}) "
                f"over {len(lime.seeds)} seeds; agreement with SHAP top-{lime.top_k} "
                f"{lime.agreement[i]:.2f} (SHAP: {', '.join(lime.shap_top[i])})"
            )
    if args.out:
        _write_contributions(Path(args.out), explanation)
        out.print(f"Wrote contributions of {explanation.n_rows} rows to {args.out}")
    if args.plot:
        path = write_explanation_html(
            args.plot,
            explanation,
            title=f"{args.name} v{model.version}: explanations",
            feature=args.feature,
            color=args.color,
        )
        out.print(f"Wrote plots to {path} (opens offline)")
    return 0


def _root(args: argparse.Namespace) -> str:
    """The registry folder: the global ``--root``, else the config's ``registry.root``."""
    from mltrainer.cli._options import cli_config

    return str(cli_config(args).registry.root)


def _store_for(args: argparse.Namespace) -> Any:
    """The global ``--store`` when given, else the store the model was trained with."""
    from mltrainer.store import open_store

    if args.store:
        return open_store(args.store, prefix=args.prefix or "mltrainer")
    from mltrainer.exceptions import NotFoundError
    from mltrainer.registry import ModelRegistry

    try:
        section = (ModelRegistry(_root(args)).metadata(args.name).get("config") or {}).get("store")
    except NotFoundError:  # no local version: the default store
        section = None
    section = section or {}
    return open_store(section.get("url"), prefix=args.prefix or section.get("prefix", "mltrainer"))


def _cmd_decisions(args: argparse.Namespace) -> int:
    from mltrainer.explain import get_decision, read_decisions

    with _store_for(args) as store:
        if args.id:
            records = [get_decision(store, args.name, args.id)]
        else:
            records = read_decisions(
                store,
                args.name,
                since=args.since,
                until=args.until,
                symbol=args.symbol,
                limit=args.limit,
            )
    if args.json or args.id:
        for record in records:
            data = {"decision_id": record.decision_id, "recorded_at": record.recorded_at}
            data.update(record.to_dict())
            print(json.dumps(data, indent=2 if args.id else None, default=str))
        return 0
    out = _console()
    if not records:
        out.print(f"No decision records of {args.name} in that window.")
        return 0
    table = Table(title=f"Critical decisions of {args.name} ({len(records)})")
    for column in ("decision id", "decision time", "symbol", "v", "prediction", "p", "top", "why"):
        table.add_column(column)
    for record in records:
        best = max(record.probabilities.values()) if record.probabilities else None
        table.add_row(
            str(record.decision_id),
            record.decision_time,
            record.symbol or "",
            str(record.version),
            fmt(record.prediction),
            "" if best is None else f"{best:.3f}",
            ", ".join(f"{n} {v:+.3f}" for n, v in record.contributions[:3]),
            "; ".join(record.reasons),
        )
    out.print(table)
    return 0


def register(sub: Any) -> None:
    """Add `explain` and `decisions` to the top-level subparsers."""
    explain = sub.add_parser("explain", help="attributions of a registered model on bars")
    explain.add_argument("name")
    explain.add_argument("--data", required=True, help="bars: a CSV/Parquet path or bundled name")
    explain.add_argument("--since", help="first decision time explained (warm-up kept before)")
    explain.add_argument("--until", help="last decision time explained")
    explain.add_argument("--version", default="latest", help="version number or alias")
    explain.add_argument(
        "--method",
        default="auto",
        choices=["auto", "tree", "linear", "permutation", "kernel"],
        help="attribution method (auto: the exact one of the model type)",
    )
    explain.add_argument(
        "--max-rows",
        type=int,
        default=1_000,
        help="rows a permutation/kernel run may explain (refused above, with the estimate)",
    )
    explain.add_argument("--plot", help="write the offline HTML plots to this file")
    explain.add_argument("--feature", help="dependence plot: the feature (default: the top one)")
    explain.add_argument("--color", help="dependence plot: the colouring feature")
    explain.add_argument("--out", help="write every row's contributions to this CSV/Parquet")
    explain.add_argument("--top", type=int, default=15, help="features listed (default 15)")
    explain.add_argument("--top-contributions", type=int, default=5)
    explain.add_argument(
        "--lime", type=int, default=0, metavar="N", help="also LIME on the last N rows"
    )
    explain.add_argument("--lime-samples", type=int, default=5_000)
    explain.add_argument("--lime-repeats", type=int, default=10)
    explain.add_argument("--json", action="store_true", help="print the summary as JSON")
    explain.set_defaults(func=_cmd_explain)

    decisions = sub.add_parser("decisions", help="the audit trail of critical decisions")
    decisions.add_argument("name")
    decisions.add_argument("--since", help="decision time from (ISO 8601, UTC if naive)")
    decisions.add_argument("--until", help="decision time to")
    decisions.add_argument("--id", help="one decision by its id")
    decisions.add_argument("--symbol", help="only this symbol")
    decisions.add_argument("--limit", type=int, help="the newest N only")
    decisions.add_argument("--json", action="store_true", help="one JSON record per line")
    decisions.add_argument("--prefix", help="store prefix (default: the model's, or mltrainer)")
    decisions.set_defaults(func=_cmd_decisions)
