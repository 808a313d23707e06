"""Destinations are checked before any data: registry root, store, output files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrainer.exceptions import ConfigError, StoreError
from mltrainer.pipeline import (
    check_destinations,
    check_output_file,
    check_registry_root,
    check_store,
)
from tests.conftest import run_config


def test_registry_root(tmp_path: Path) -> None:
    check_registry_root(tmp_path / "new" / "models")  # creatable: fine, nothing created
    assert not (tmp_path / "new").exists()
    file = tmp_path / "file"
    file.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"registry.root '{file}': '{file}' is a file"):
        check_registry_root(file)
    with pytest.raises(ConfigError, match=rf"'{file}' is a file, not a folder"):
        check_registry_root(file / "below")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "spy").write_text("x", encoding="utf-8")  # the model's folder
    with pytest.raises(ConfigError, match="is a file"):
        check_registry_root(tmp_path / "models", name="spy")
    check_registry_root(tmp_path / "models", name="other")


def test_store(tmp_path: Path) -> None:
    check_store(f"sqlite:///{tmp_path / 'sub' / 'store.db'}")
    with pytest.raises(ConfigError, match=r"^store.url: Unsupported store URL 'mongodb://x/y'"):
        check_store("mongodb://x/y")
    with pytest.raises(StoreError, match=r"^store.url: Cannot reach Redis at 'redis://:\*\*\*@"):
        check_store("redis://:secret@127.0.0.1:1/0")
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match=r"^store\.url: Cannot open SQLite store"):
        check_store(f"sqlite:///{tmp_path / 'dir.db'}")


def test_output_file(tmp_path: Path) -> None:
    check_output_file(tmp_path / "a" / "b" / "report.html", what="--report")
    with pytest.raises(ConfigError, match=r"^--out '.*' is a folder"):
        check_output_file(tmp_path, what="--out")
    taken = tmp_path / "taken"
    taken.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^--plot '.*taken/p.html': '.*taken' is a file"):
        check_output_file(taken / "p.html", what="--plot")


def test_check_destinations_checks_each_one(tmp_path: Path) -> None:
    config = run_config(tmp_path)
    check_destinations(config, outputs={"--report": tmp_path / "r.html", "--out": None})
    bad = run_config(tmp_path, store={"url": "redis://127.0.0.1:1/0"})
    with pytest.raises(StoreError):
        check_destinations(bad)
    check_destinations(bad, store=False)
    (tmp_path / "models.txt").write_text("x", encoding="utf-8")
    unwritable = run_config(tmp_path, registry={"root": str(tmp_path / "models.txt")})
    with pytest.raises(ConfigError):
        check_destinations(unwritable)
    check_destinations(unwritable, registry=False)
    with pytest.raises(ConfigError, match="--report"):
        check_destinations(config, outputs={"--report": tmp_path})
