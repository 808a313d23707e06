"""Nested purged CV of the tuning procedure: inner studies see only outer training rows,
the estimate is honest where the best trial is not, and the tuned model's metadata says
its CV scores are in-sample to the tuning."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mltrainer import Trainer, load_model
from mltrainer.cli import main
from mltrainer.cv import TrainingRows, resolve_cv
from mltrainer.pipeline import Plan
from mltrainer.store import open_store
from mltrainer.tuning import NestedFold, nested_evaluation, tune
from mltrainer.tuning._nested import inner_plan
from mltrainer.tuning._results import store_key
from tests.tuning.conftest import ar_bars, noise_bars, synthetic_config, synthetic_raw

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tuning.md"


class SpyResampler:
    """Hands back the rows it is given; records the decision times of every call."""

    def __init__(self) -> None:
        self.calls: list[pd.DatetimeIndex] = []

    def resample(self, rows: TrainingRows, *, fold: int) -> TrainingRows:
        self.calls.append(pd.DatetimeIndex(rows.X.index))
        return rows


def test_inner_plan_purges_inside_the_outer_training_rows(tmp_path: Path) -> None:
    config = synthetic_config(
        tmp_path, noise_bars(300, seed=0), params={}, n_trials=2, n_splits=3, seed=0
    )
    plan = Plan.from_config(config)
    data = plan.dataset
    outer = resolve_cv(plan.splitter, data.X, data.t1)
    for info in outer.split_with_info(data.X):
        inner = inner_plan(plan, info.train)
        assert inner.dataset.X.index.equals(data.X.index[info.train])
        assert inner.splitter.t1.equals(data.t1.iloc[info.train])  # realigned to the rows
        assert inner.splitter.get_n_splits() == plan.splitter.get_n_splits()
        t0 = inner.dataset.X.index.to_numpy()
        t1 = inner.dataset.t1.to_numpy()
        for train, test in inner.splitter.split(inner.dataset.X):
            start, end = t0[test].min(), t1[test].max()
            overlaps = (t0[train] <= end) & (t1[train] >= start)
            assert not overlaps.any()  # purged inside the subset, as on all rows


def test_nested_fits_never_see_an_outer_test_row(tmp_path: Path) -> None:
    config = synthetic_config(
        tmp_path, noise_bars(300, seed=0), params={}, n_trials=2, n_splits=3, seed=0
    )
    spy = SpyResampler()
    plan = Plan.from_config(config, resampler=spy)
    data = plan.dataset
    infos = list(resolve_cv(plan.splitter, data.X, data.t1).split_with_info(data.X))
    marks: list[int] = []

    def on_fold(fold: NestedFold, total: int) -> None:
        marks.append(len(spy.calls))

    result = nested_evaluation(config, n_trials=3, plan=plan, on_fold=on_fold)
    assert len(result.folds) == len(infos) == 3
    begin = 0
    for info, end in zip(infos, marks, strict=True):
        train_t0 = data.X.index[info.train]
        test_t0 = data.X.index[info.test]
        span = (test_t0.min(), data.t1.iloc[info.test].max())
        calls = spy.calls[begin:end]
        assert len(calls) > 2  # inner cross-validations, then the two outer fits
        for seen in calls:
            assert seen.isin(train_t0).all()
            assert not seen.isin(test_t0).any()
            seen_t1 = data.t1.loc[seen]
            assert not ((seen <= span[1]) & (seen_t1.to_numpy() >= span[0])).any()
        assert calls[-1].equals(train_t0)  # the fixed config on the outer training rows
        assert calls[-2].equals(train_t0)  # the inner study's choice on the same rows
        begin = end


def test_nested_estimate_is_honest_where_the_best_trial_is_not(tmp_path: Path) -> None:
    config = synthetic_config(
        tmp_path,
        noise_bars(400, seed=1),
        params={"n_estimators": 20, "max_depth": 3},
        n_trials=12,
        n_splits=4,
        seed=1,
    )
    result = tune(config, nested=True, nested_trials=6)
    nested = result.nested
    assert nested is not None
    assert result.nested_score == pytest.approx(nested["score"])
    # the fixed config is scored on the same outer folds as in the study
    assert [f["fixed_score"] for f in nested["folds"]] == pytest.approx(result.fixed_fold_scores)
    # on noise the best of 12 trials (0.60 here) and each inner study's best look better
    # than the same procedure does on folds it never saw (0.55)
    assert result.best_score > result.nested_score + 0.03
    assert nested["inner_score"] > result.nested_score + 0.02
    assert all(f["n_trials"] == 6 for f in nested["folds"])
    with open_store(config.store.url, prefix=config.store.prefix) as store:
        last = store.get(store_key(config, "last"))
    assert last["nested"]["score"] == pytest.approx(result.nested_score)
    assert last["nested_score"] == pytest.approx(result.nested_score)
    json.dumps(last, allow_nan=False)


def _write(path: Path, raw: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(raw))
    return path


def test_cli_nested_tune_then_train_flags_in_sample_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = synthetic_raw(
        tmp_path,
        ar_bars(800, seed=0, phi=0.3),
        params={"n_estimators": 10, "min_child_weight": 1000},
        n_trials=8,
        n_splits=3,
        seed=0,
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
    )
    path = _write(tmp_path / "tune.yaml", raw)
    assert main(["tune", str(path), "--nested", "--nested-trials", "4"]) == 0
    out = capsys.readouterr().out
    assert "tuned (trial" in out
    assert "optimistic" in out
    assert "tuned, nested (4 trials per inner study)" in out
    match = re.search(r"nested estimate roc_auc = (\d\.\d+)", out)
    assert match is not None
    assert "promoted" in out
    with open_store(raw["store"]["url"]) as store:
        best = store.get("tuning/synthetic/xgboost/best")
        last = store.get("tuning/synthetic/xgboost/last")
    assert best is not None, last["promotion_reasons"]
    assert best["nested_score"] == pytest.approx(last["nested_score"])
    assert float(match[1]) == pytest.approx(last["nested_score"], abs=5e-5)

    fixed_run = Trainer(synthetic_config(tmp_path, ar_bars(800, seed=0, phi=0.3), params={},
                                         n_trials=8, n_splits=3, seed=0)).run()  # fmt: skip
    fixed_meta = load_model("synthetic", fixed_run.version, root=tmp_path / "models").metadata
    assert fixed_meta["scores"]["in_sample_to_tuning"] is False

    trained = {**raw, "model": {**raw["model"], "params_source": "optimized"}}
    path = _write(tmp_path / "train.yaml", trained)
    assert main(["train", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "in-sample to the tuning" in out
    assert f"nested estimate roc_auc = {float(match[1]):.4f}" in out
    meta = load_model("synthetic", root=tmp_path / "models").metadata
    scores = meta["scores"]
    assert scores["in_sample_to_tuning"] is True
    assert scores["nested_estimate"]["score"] == pytest.approx(best["nested_score"])
    assert scores["nested_estimate"]["scorer"] == "roc_auc"
    assert meta["params_origin"]["nested_score"] == pytest.approx(best["nested_score"])
    root = str(tmp_path / "models")
    assert main(["models", "--root", root, "show", "synthetic"]) == 0
    assert "in-sample to the tuning" in capsys.readouterr().out


def test_docs_nested_grid_search_example_runs() -> None:
    text = DOCS.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    example = next(b for b in blocks if "GridSearchCV" in b and "cross_val_score" in b)
    scope: dict[str, Any] = {}
    exec(compile(example, str(DOCS), "exec"), scope)  # our own docs: an executable example
    scores = np.asarray(scope["scores"])
    assert scores.shape == (3,)
    assert np.isfinite(scores).all()
