"""A registry with two trained versions on the bundled S&P 500 (training ends 2017), copied
for each test that changes it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mltrainer.cli import main

NAME = "sp500-direction"
#: Quick runs: 2015-2017 for training, 2018 left for predicting and monitoring.
TRAIN = [
    "--set", "data.start=2015-01-01", "--set", "data.end=2017-12-31",
    "--set", "model.params.n_estimators=20", "--set", "cv.n_splits=3", "--quiet",
]  # fmt: skip


@pytest.fixture(scope="session")
def trained_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``models/`` (versions 1 and 2 of NAME, v2 with deeper trees) and its
    ``mltrainer.db`` store."""
    root = tmp_path_factory.mktemp("cli-trained")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        assert main(["train", *TRAIN]) == 0
        assert main(["train", *TRAIN, "--set", "model.params.max_depth=5"]) == 0
    return root


@pytest.fixture
def trained(tmp_path: Path, trained_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of :func:`trained_root` as the working directory."""
    shutil.copytree(trained_root / "models", tmp_path / "models")
    for store in trained_root.glob("mltrainer.db*"):
        shutil.copy2(store, tmp_path / store.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path
