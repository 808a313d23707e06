"""`mltrainer tune`: run or join a study, re-tune on a schedule, show a study's trials."""

from __future__ import annotations

import argparse
import math
from typing import Any

from rich.table import Table

from mltrainer.cli._options import cli_config
from mltrainer.cli._output import console as _console
from mltrainer.cli._output import fmt as _fmt


def _print_result(result: Any) -> None:
    out = _console()
    out.print(
        f"Study [bold]{result.study}[/] on {result.storage}: {result.n_trials} trials"
        f" ({result.n_complete} complete, {result.n_pruned} pruned, {result.n_failed} failed)"
        f" in {result.duration_s:.1f} s"
    )
    table = Table(title=f"Mean out-of-fold {result.scorer}")
    for column in ("params", "mean", "folds"):
        table.add_column(column, justify="right")
    table.add_row("fixed (config)", _fmt(result.fixed_score), _folds(result.fixed_fold_scores))
    table.add_row(
        f"tuned (trial {result.best_trial}), optimistic",
        _fmt(result.best_score),
        _folds(result.best_fold_scores),
    )
    nested = result.nested
    if nested is not None:
        table.add_row(
            f"tuned, nested ({nested['n_trials']} trials per inner study)",
            _fmt(_number(nested["score"])),
            _folds([_number(f["outer_score"]) for f in nested["folds"]]),
        )
    out.print(table)
    if nested is not None:
        inner = _fmt(_number(nested["inner_score"]))
        out.print(
            f"nested estimate {result.scorer} = {_fmt(_number(nested['score']))}"
            f" (expected out-of-sample score of the tuning procedure) vs optimistic"
            f" {_fmt(result.best_score)}; inner studies' own best {inner};"
            f" fixed on the same folds {_fmt(_number(nested['fixed_score']))},"
            f" nested gain {_number(nested['gain']):+.4f} (paired p={_p(nested['p_value'])})"
        )
    else:
        out.print(
            "the tuned mean is in-sample to the search (picked on these folds); run with"
            " --nested for an out-of-sample estimate"
        )
    out.print("best params: " + ", ".join(f"{k}={_fmt(v)}" for k, v in result.best_params.items()))
    sign = "+" if result.gain >= 0 else ""
    guard = [f"gain {sign}{_fmt(float(result.gain))}", f"paired p={_p(result.p_value)}"]
    if result.spa_p_value is not None:
        guard.append(
            f"SPA p={_p(result.spa_p_value)} ({result.spa_basis}, {result.n_tested} trials)"
        )
    if result.bonferroni_p_value is not None:
        guard.append(f"Bonferroni p={_p(result.bonferroni_p_value)} ({result.n_tested} trials)")
    if result.deflated_sharpe is not None:
        guard.append(f"deflated Sharpe {result.deflated_sharpe:.3f} (N={result.n_tested})")
    if result.pbo is not None and not math.isnan(result.pbo):
        guard.append(f"PBO {result.pbo:.2f} ({result.pbo_basis}, {result.pbo_blocks} blocks)")
    out.print("overfitting guard: " + "; ".join(guard))
    if result.promoted:
        out.print(
            f"[green]promoted[/]: {result.promotion_rule}; `model.params: optimized` now uses"
            " these params"
        )
    else:
        out.print(
            "[yellow]not promoted[/], keeping the fixed params: "
            + "; ".join(result.promotion_reasons or ["the gain does not clear the test"])
        )


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _folds(scores: list[float]) -> str:
    return " ".join(_fmt(float(s)) for s in scores)


def _p(value: float) -> str:
    return "n/a" if value is None or value != value else f"{value:.3g}"


def _cmd_tune(args: argparse.Namespace) -> int:
    import optuna

    from mltrainer.pipeline import check_output_file
    from mltrainer.tuning import default_study_name, load_study, run_schedule, tune

    # The CLI prints its own summary; Optuna's per-trial INFO lines only with --verbose.
    optuna.logging.set_verbosity(optuna.logging.INFO if args.verbose else optuna.logging.WARNING)
    config = cli_config(args, args.config)
    storage = args.storage or config.tuning.storage
    if args.show is not None:
        _show(load_study(storage, args.show or default_study_name(config)))
        return 0
    if args.report:  # tune() checks the storage and the store before loading data
        check_output_file(args.report, what="--report")
    options: dict[str, Any] = {
        "n_trials": args.trials,
        "timeout": args.timeout,
        "workers": args.workers,
        "storage": args.storage,
    }
    if args.nested:
        options["nested"] = True
    if args.nested_trials is not None:
        options["nested_trials"] = args.nested_trials
    every = args.every or config.tuning.every
    if every:
        run_schedule(
            config, every=every, max_runs=args.max_runs, on_result=_print_result, **options
        )
        return 0
    result = tune(config, study_name=args.study, **options)
    _print_result(result)
    if args.report:
        from mltrainer.tuning import write_html_report

        path = write_html_report(load_study(storage, result.study), args.report)
        _console().print(f"Report written to {path}")
    return 0


def _show(study: Any) -> None:
    from mltrainer.tuning import trials_frame

    frame = trials_frame(study)
    table = Table(title=f"Trials of study {study.study_name}")
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for _, row in frame.iterrows():
        table.add_row(*("" if v is None or v != v else _fmt(v) for v in row))
    _console().print(table)


def register(sub: Any) -> None:
    """Add ``tune`` to the top-level subparsers."""
    from mltrainer.cli._train import config_args

    p = sub.add_parser("tune", help="tune hyperparameters with Optuna on purged CV")
    config_args(p)
    p.add_argument("--trials", type=int, help="finished trials the study should hold")
    p.add_argument("--timeout", type=float, help="seconds per worker")
    p.add_argument("--workers", type=int, help="worker processes sharing the study")
    p.add_argument("--storage", help="Optuna storage URL (sqlite:///, redis://, postgresql://)")
    p.add_argument("--study", help="study name (default: <name>-<model type>)")
    p.add_argument("--every", help="keep running and re-tune every interval, e.g. 7d")
    p.add_argument(
        "--max-runs", type=int, metavar="N", help="with --every: stop after N scheduled runs"
    )
    p.add_argument(
        "--nested",
        action="store_true",
        help="also estimate the tuned model's out-of-sample score by nested purged CV",
    )
    p.add_argument(
        "--nested-trials", type=int, metavar="N", help="trials per inner study of --nested"
    )
    p.add_argument("--report", metavar="HTML", help="write plots of the study to this file")
    p.add_argument("--verbose", action="store_true", help="show Optuna's log line per trial")
    p.add_argument(
        "--show",
        nargs="?",
        const="",
        metavar="NAME",
        help="print the trial history of study NAME (default: this config's study)",
    )
    p.set_defaults(func=_cmd_tune)
