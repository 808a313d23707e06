"""Tests of writing versions: temp folders of killed saves are cleaned, live ones never."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mltrainer
from mltrainer.registry import ModelRegistry
from mltrainer.registry._atomic import claimed_temp_dir

FEATURES = ["a", "b"]


@pytest.fixture(scope="module")
def model() -> Any:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(50, 2)), columns=FEATURES)
    return LogisticRegression().fit(X, (X["a"] > 0).astype(int))


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def _hidden(model_dir: Path) -> list[str]:
    return sorted(entry.name for entry in model_dir.iterdir() if entry.name.startswith("."))


def test_a_save_killed_midway_leaves_a_temp_folder_that_the_next_save_removes(
    registry: ModelRegistry, model: Any, tmp_path: Path
) -> None:
    registry.save("spy", model, feature_names=FEATURES)
    script = textwrap.dedent(
        f"""
        import os, signal
        import numpy as np, pandas as pd
        from sklearn.linear_model import LogisticRegression
        from mltrainer.registry import ModelRegistry
        from mltrainer.registry import _skops

        def killed(self, model, directory, *, stem="model"):
            (directory / f"{{stem}}.skops").write_bytes(b"half a model")
            os.kill(os.getpid(), signal.SIGKILL)

        _skops.SkopsFormat.save = killed
        X = pd.DataFrame(np.eye(4)[:, :2] + 0.1, columns=["a", "b"])
        model = LogisticRegression().fit(X, [0, 1, 0, 1])
        ModelRegistry({str(registry.root)!r}).save("spy", model, feature_names=["a", "b"])
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(mltrainer.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", script], env=env, timeout=120, check=False)
    assert result.returncode == -signal.SIGKILL
    model_dir = registry.root / "spy"
    left = _hidden(model_dir)
    assert len(left) == 2  # .tmp-<id> with the half model and its .tmp-<id>.lock
    assert [r["version"] for r in registry.list_versions("spy")] == [1]  # never visible
    # a fresh folder, yet its writer is dead (its lock is free): the next save removes it
    assert registry.save("spy", model, feature_names=FEATURES).version == 2
    assert _hidden(model_dir) == []
    assert [r["ok"] for r in registry.list_versions("spy")] == [True, True]


def test_a_temp_folder_being_written_is_never_removed(registry: ModelRegistry, model: Any) -> None:
    registry.save("spy", model, feature_names=FEATURES)
    model_dir = registry.root / "spy"
    old = time.time() - 10 * 3600
    with claimed_temp_dir(model_dir) as busy:
        (busy / "model.skops").write_bytes(b"being written")
        os.utime(busy, (old, old))  # even when it looks ancient
        assert registry.save("spy", model, feature_names=FEATURES).version == 2
        assert busy.exists()
        assert (busy / "model.skops").read_bytes() == b"being written"
    assert _hidden(model_dir) == []  # the writer removes its own leftovers


def test_lockless_temp_folders_are_removed_only_when_old(
    registry: ModelRegistry, model: Any
) -> None:
    registry.save("spy", model, feature_names=FEATURES)
    model_dir = registry.root / "spy"
    old_dir, fresh_dir = model_dir / ".tmp-old", model_dir / ".tmp-fresh"
    orphan_lock = model_dir / ".tmp-gone.lock"  # a save killed after its rename
    for folder in (old_dir, fresh_dir):
        folder.mkdir()
    orphan_lock.write_bytes(b"")
    old = time.time() - 2 * 3600
    os.utime(old_dir, (old, old))
    os.utime(orphan_lock, (old, old))
    registry.save("spy", model, feature_names=FEATURES)
    assert _hidden(model_dir) == [".tmp-fresh"]
