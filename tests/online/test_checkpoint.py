"""Checkpoints: a restored processor continues exactly; kill -9 and resume equals one run.

The kill test runs the stream in a subprocess that SIGKILLs itself at a seeded random bar
(or between a checkpoint's store write and its acknowledgement), restarts it from the stored
checkpoint, and compares every stored prediction, and the registry versions refits saved,
with an uninterrupted run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from river import linear_model

from mltrainer.online import (
    LightGBMRefit,
    StreamProcessor,
    XGBoostContinue,
    decode_checkpoint,
    encode_checkpoint,
)
from mltrainer.registry import ModelRegistry
from mltrainer.store import StreamCheckpoint, open_store, stream_predictions_series

from .conftest import LABEL, SPEC, fit, regime_bars

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _setups(bars: pd.DataFrame) -> dict[str, Any]:
    names = ["log_return_1", "log_return_2", "rsi_3"]
    return {
        "sgd-every-bar": lambda: StreamProcessor(fit("sgd", bars.iloc[:300]), SPEC, LABEL),
        "sgd-batch": lambda: StreamProcessor(
            fit("sgd", bars.iloc[:300]), SPEC, LABEL, update="batch:7"
        ),
        "xgboost": lambda: StreamProcessor(
            fit("xgboost", bars.iloc[:300], n_estimators=10),
            SPEC,
            LABEL,
            updater=XGBoostContinue(trees_per_update=2, max_trees=14),
            update="batch:30",
        ),
        "lightgbm": lambda: StreamProcessor(
            fit("lightgbm", bars.iloc[:300], n_estimators=10), SPEC, LABEL, updater=LightGBMRefit()
        ),
        "river": lambda: StreamProcessor(
            linear_model.LogisticRegression(), SPEC, LABEL, feature_names=names
        ),
    }


def _run(processor: StreamProcessor, bars: pd.DataFrame) -> list[Any]:
    return [processor.process({"timestamp": t, **row.to_dict()}) for t, row in bars.iterrows()]


@pytest.mark.parametrize("setup", ["sgd-every-bar", "sgd-batch", "xgboost", "lightgbm", "river"])
def test_restored_processor_continues_exactly(bars: pd.DataFrame, setup: str) -> None:
    make = _setups(bars)[setup]
    whole = _run(make(), bars.iloc[300:760])
    first = make()
    _run(first, bars.iloc[300:530])
    arrays, meta = first.state()
    record = StreamCheckpoint.from_dict(
        encode_checkpoint(arrays, meta, offset="x", bars=230, version=None).to_dict()
    )
    second = make()
    second.restore(decode_checkpoint(record), record.meta)
    rest = _run(second, bars.iloc[530:760])
    assert [p.status for p in rest] == [p.status for p in whole[230:]]
    assert [p.proba for p in rest] == [p.proba for p in whole[230:]]
    assert second.counters.learned == first.counters.learned + sum(p.learned for p in rest)
    assert second.metrics() == pytest.approx(
        {k: v for k, v in _metrics_after(make, bars).items()}, nan_ok=True
    )


def _metrics_after(make: Any, bars: pd.DataFrame) -> dict[str, float]:
    processor = make()
    _run(processor, bars.iloc[300:760])
    return processor.metrics()


WORKER = textwrap.dedent(
    """
    import os, signal, sys
    from mltrainer.data import load_bars
    from mltrainer.online import RefitPolicy, StreamProcessor, replay
    from mltrainer.registry import load_model
    from mltrainer.store import open_store

    root, store_url, data, stream, kill_event, kill_at = sys.argv[1:7]
    kill_at = int(kill_at)

    def on_event(event, bars):
        if event == kill_event and bars == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    processor = StreamProcessor(
        load_model("regime", root=root),
        stream_name=stream,
        update="batch:150",
        refit=RefitPolicy(eval_rows=60, min_train_rows=120),
    )
    bars = load_bars(data)
    with open_store(store_url) as store:
        replay(processor, bars, start=bars.index[500], store=store, checkpoint_every=40,
               resume=True, on_event=on_event)
    """
)


def _register(root: Path, bars: pd.DataFrame) -> None:
    model = fit("sgd", bars.iloc[:500])
    metadata = {
        "features": {"spec": SPEC},
        "label": {**LABEL, "kind": "classification", "classes": [0.0, 1.0]},
        "task": "classification",
        "config": {"seed": 0},
        "params": {
            k: v for k, v in model.get_params(deep=True).items() if isinstance(v, int | float | str)
        },
    }
    names = ["log_return_1", "log_return_2", "rsi_3"]
    ModelRegistry(root).save("regime", model, feature_names=names, metadata=metadata)


def _worker(
    tmp: Path, root: Path, store: str, data: Path, stream: str, kill: tuple[str, int]
) -> int:
    script = tmp / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": SRC}
    args = [sys.executable, str(script), str(root), store, str(data), stream, kill[0], str(kill[1])]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(done.stderr[-3000:])
    return done.returncode


def _stored(store_url: str, stream: str) -> pd.DataFrame:
    with open_store(store_url) as store:
        points = store.range(stream_predictions_series(stream))
    return pd.DataFrame([value for _, value in points])


@pytest.mark.slow
def test_kill_minus_nine_and_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    bars = regime_bars(900, 500, phi=0.8, seed=11)
    data = tmp_path / "bars.csv"
    bars.reset_index().to_csv(data, index=False)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    full_root, killed_root = tmp_path / "full", tmp_path / "killed"
    _register(full_root, bars)
    shutil.copytree(full_root, killed_root)

    assert _worker(tmp_path, full_root, store, data, "full", ("never", 0)) == 0
    rng = np.random.default_rng(20261202)
    kills = [
        ("bar", int(rng.integers(5, 300))),
        ("checkpoint", 440),
        ("bar", int(rng.integers(600, 890))),
    ]
    for kill in kills:
        assert _worker(tmp_path, killed_root, store, data, "killed", kill) == -signal.SIGKILL
    assert _worker(tmp_path, killed_root, store, data, "killed", ("never", 0)) == 0

    full, killed = _stored(store, "full"), _stored(store, "killed")
    assert len(full) == len(bars) - 500
    pd.testing.assert_frame_equal(killed.drop(columns="offset"), full.drop(columns="offset"))
    assert killed["timestamp"].is_unique
    versions = [r["version"] for r in ModelRegistry(full_root).list_versions("regime")]
    assert versions == [r["version"] for r in ModelRegistry(killed_root).list_versions("regime")]
    assert len(versions) >= 2  # the regime change refits and saves a version: once, not per restart
    assert (full["version"].dropna().astype(int) >= 1).all()


def test_stream_keys_and_records_are_documented() -> None:
    from mltrainer.store import (
        StreamOffset,
        StreamStatus,
        stream_events_key,
        stream_predictions_series,
    )

    assert stream_predictions_series("spy") == "stream/spy/predictions"
    assert stream_events_key("spy.replay") == "stream/spy.replay/events"
    docs = (Path(SRC).parent / "docs" / "store.md").read_text()
    for key in ("stream/<model>/predictions", "stream/<model>/events", "stream/<model>/checkpoint"):
        assert f"`{key}`" in docs
    offset = StreamOffset("1-0", 3, None, "bars:SPX@g")
    assert StreamOffset.from_dict(offset.to_dict()) == offset
    status = StreamStatus("running", 1, "1-0", 3, None, "now", {"bars": 3}, {"m": None})
    assert StreamStatus.from_dict({**status.to_dict(), "new_field": 1}) == status


def test_a_corrupted_checkpoint_is_refused() -> None:
    from mltrainer.exceptions import ChecksumError

    record = encode_checkpoint({"a": np.arange(3)}, {}, offset="x", bars=1, version=None)
    assert decode_checkpoint(record)["a"].tolist() == [0, 1, 2]
    record.sha256 = "0" * 64
    with pytest.raises(ChecksumError, match="does not match its SHA-256"):
        decode_checkpoint(record)
