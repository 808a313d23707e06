"""`mltrainer importance NAME`: a registered model's ranked feature importance."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd
from rich.table import Table

from mltrainer.cli._options import cli_config
from mltrainer.cli._output import console as _console
from mltrainer.cli._output import fmt as _fmt
from mltrainer.exceptions import ConfigError

#: How the in-sample fallback is described (the model was trained without selection).
IN_SAMPLE = "gain (in-sample, from the saved model)"

_IN_SAMPLE_NOTE = (
    "This is the saved model's own split gain on its training rows, not out-of-fold"
    " importance, and has no std (one fit). For out-of-fold importance with its spread"
    " across folds, train with a selection method, e.g. `mltrainer train --set"
    " selection.method=permutation`."
)


def importance_table(metadata: dict[str, Any], estimator: Any = None) -> tuple[pd.DataFrame, str]:
    """Importance of a registered version: ``mean``, ``std``, ``selected`` per feature.

    Uses the out-of-fold importances stored by ``selection``; without them, the in-sample
    gain/impurity of a tree model (``estimator``).

    Returns
    -------
    (DataFrame, str)
        The table sorted by ``mean`` descending, and a description of the method.
    """
    selection = metadata.get("selection")
    if selection and selection.get("importances"):
        values = selection["importances"]
        frame = pd.DataFrame.from_dict(values, orient="index", dtype=float)
        selected = set(selection.get("selected", []))
        frame["selected"] = [name in selected for name in frame.index]
        frame = frame.sort_values("mean", ascending=False, kind="stable")
        scoring = selection.get("scoring") or ""
        method = f"{selection.get('method')} (out of fold{', ' + scoring if scoring else ''})"
        return frame, method
    from mltrainer.selection import supports_tree_importance, tree_importance

    if estimator is None or not supports_tree_importance(estimator):
        raise ConfigError(
            f"model {metadata.get('name')!r} version {metadata.get('version')} has no stored "
            "importances: retrain with a selection method, e.g. --set selection.method=permutation"
        )
    gain = tree_importance(estimator, metadata.get("feature_names"))
    # one fit, so no spread: std is unknown (NaN), not 0
    frame = pd.DataFrame({"mean": gain, "std": float("nan"), "selected": True})
    return frame, IN_SAMPLE


def _plot_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".html", ".png"):
        raise ConfigError(f"--plot {path}: use a .html or .png file name")
    return suffix


def write_plot(frame: pd.DataFrame, path: Path, *, title: str) -> None:
    """A horizontal bar chart with error bars, as ``.html`` (offline) or ``.png``."""
    import plotly.graph_objects as go

    suffix = _plot_suffix(path)
    ordered = frame.iloc[::-1]
    figure = go.Figure(
        go.Bar(
            x=ordered["mean"],
            y=[str(name) for name in ordered.index],
            orientation="h",
            error_x={"type": "data", "array": ordered["std"].fillna(0.0).tolist()},
            marker_color=["#1f77b4" if s else "#b0b0b0" for s in ordered["selected"]],
        )
    )
    figure.update_layout(
        title=title,
        xaxis_title="importance (mean, error bars: std)",
        height=max(300, 22 * len(frame) + 120),
        template="plotly_white",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".html":
        path.write_text(figure.to_html(include_plotlyjs=True), encoding="utf-8")
        return
    try:
        import kaleido  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"--plot {path}: writing PNG needs the 'kaleido' package (pip install kaleido); "
            "or write an .html file"
        ) from None
    figure.write_image(str(path))


def _cmd_importance(args: argparse.Namespace) -> int:
    from mltrainer.pipeline import check_output_file
    from mltrainer.registry import ModelRegistry

    if args.plot:
        check_output_file(args.plot, what="--plot")
        _plot_suffix(Path(args.plot))
    registry = ModelRegistry(cli_config(args).registry.root)
    version = int(args.version) if args.version.isdigit() else args.version
    metadata = registry.metadata(args.name, version)
    estimator = None
    if not metadata.get("selection"):
        estimator = registry.load(args.name, version).estimator
    frame, method = importance_table(metadata, estimator)
    out = _console()
    title = f"{args.name} v{metadata.get('version')}: feature importance, {method}"
    table = Table(title=title)
    for column in ("rank", "feature", "mean", "std", "selected"):
        table.add_column(column, justify="left" if column == "feature" else "right")
    for rank, (name, row) in enumerate(frame.iterrows(), start=1):
        table.add_row(
            str(rank),
            str(name),
            _fmt(float(row["mean"])),
            "n/a" if pd.isna(row["std"]) else _fmt(float(row["std"])),
            "yes" if row["selected"] else "",
        )
    out.print(table)
    if method == IN_SAMPLE:
        out.print(_IN_SAMPLE_NOTE)
    selection = metadata.get("selection") or {}
    if selection.get("stability") is not None:
        out.print(
            f"{len(selection.get('selected', []))} of {selection.get('n_candidates')} features "
            f"selected; stability across folds (mean Jaccard) = {selection['stability']:.3f}"
        )
    if args.plot:
        write_plot(frame, Path(args.plot), title=title)
        out.print(f"Wrote {args.plot}")
    return 0


def register(sub: Any) -> None:
    """Add the commands of this module to the top-level subparsers."""
    p = sub.add_parser("importance", help="a registered model's ranked feature importance")
    p.add_argument("name")
    p.add_argument("--version", default="latest", help="version number or alias")
    p.add_argument("--plot", metavar="FILE", help="bar chart with error bars: FILE.html or .png")
    p.set_defaults(func=_cmd_importance)
