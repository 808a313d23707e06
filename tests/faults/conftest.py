"""Fixtures of the fault suite: small bars on disk, a workspace with one trained version,
children that die (or kill a server) at an exact step, and read-only folders."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import mltrainer
from mltrainer.cli import main
from mltrainer.registry import ModelRegistry
from tests.conftest import make_bars, run_raw

NAME = "fault-direction"
#: Training ends here; the monitor sees the bars after it.
END = "2022-08-31"
_CHILD = Path(__file__).with_name("_child.py")


@dataclass
class Workspace:
    """A folder with a config, its registry, its store and the bars file."""

    root: Path
    bars: Path
    raw: dict[str, Any]

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def models(self) -> Path:
        return Path(self.raw["registry"]["root"])

    @property
    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.models)

    def write(self, **sections: Any) -> Path:
        """Update sections of the config (merged into each section) and write it."""
        for key, value in sections.items():
            current = self.raw.get(key)
            merged = {**current, **value} if isinstance(current, dict) else value
            self.raw[key] = merged
        self.config.write_text(yaml.safe_dump(self.raw), encoding="utf-8")
        return self.config

    def cli(self, *args: str) -> int:
        """Run ``mltrainer ARGS`` in this process (cwd: the workspace)."""
        return main(list(args))

    def child(self, args: Sequence[str], hooks: Sequence[dict[str, Any]] = ()) -> Any:
        """Run ``mltrainer ARGS`` in a child process with fault hooks (see ``_child.py``)."""
        env = {**os.environ, "PYTHONPATH": str(Path(mltrainer.__file__).parents[1])}
        return subprocess.run(
            [sys.executable, str(_CHILD), json.dumps(list(hooks)), *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,  # a guard against a hang, never reached by a passing test
            check=False,
        )


def fault_raw(root: Path, bars: Path) -> dict[str, Any]:
    """A fast run on ``bars`` (training up to END) writing only under ``root``."""
    return run_raw(
        root,
        name=NAME,
        data={"source": str(bars), "start": None, "end": END},
        model={"type": "xgboost", "params": {"n_estimators": 20, "max_depth": 2}},
        cv={"n_splits": 3},
        tuning={"n_trials": 3},
    )


@pytest.fixture(scope="session")
def fault_bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """700 daily bars (2021-01-04 .. 2022-12-04) as a CSV file."""
    path = tmp_path_factory.mktemp("fault-bars") / "bars.csv"
    make_bars(700, seed=11).reset_index().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory, fault_bars: Path) -> Path:
    """A workspace folder holding version 1 of NAME and its store record."""
    root = tmp_path_factory.mktemp("fault-template")
    raw = fault_raw(root, fault_bars)
    (root / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        assert main(["train", str(root / "config.yaml"), "--quiet"]) == 0
    return root


@pytest.fixture
def workspace(
    tmp_path: Path,
    trained_template: Path,
    fault_bars: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    """A private copy of the trained template (version 1 saved and recorded)."""
    shutil.copytree(trained_template / "models", tmp_path / "models")
    for source in trained_template.glob("store.db*"):  # the database (and its WAL, if any)
        shutil.copy2(source, tmp_path / source.name)
    space = Workspace(root=tmp_path, bars=fault_bars, raw=fault_raw(tmp_path, fault_bars))
    space.write()
    monkeypatch.chdir(tmp_path)
    return space


def one_line(text: str) -> str:
    """The single line of ``text`` (an error), failing when it is not exactly one line."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def hidden(folder: Path) -> list[str]:
    """Hidden entries (temp folders and locks of unfinished saves) in ``folder``."""
    return sorted(entry.name for entry in folder.iterdir() if entry.name.startswith("."))


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` and everything under it unwritable, even for root.

    As root the permission bits do not bind, so the folders are made immutable
    (``chattr +i``); otherwise they lose their write bits. Skips where neither works.
    """
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    modes = {p: p.stat().st_mode for p in folders}

    def undo() -> None:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", *map(str, folders)], capture_output=True, check=True)
        else:
            for path, mode in modes.items():
                path.chmod(mode)

    if os.geteuid() == 0:
        done = subprocess.run(
            ["chattr", "+i", *map(str, folders)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            undo()
            pytest.skip(f"cannot make {folder} read-only as root: {done.stderr.strip()}")
    else:
        for path in folders:
            path.chmod(0o555)
    try:
        try:
            (folder / ".probe").touch()
        except OSError:
            pass
        else:
            (folder / ".probe").unlink()
            pytest.skip(f"{folder} stays writable on this file system")
        yield
    finally:
        undo()
