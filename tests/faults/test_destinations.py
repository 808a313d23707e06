"""A dead store, a read-only registry and other unwritable destinations: one line, exit 2.

Each destination is checked before any data is loaded: loading the bars is made to fail
the test (``_no_data``), so an error that only comes after the work shows up as a failed
test, not as a slow run. Nothing is saved or recorded. A run whose store dies after the
version was saved says which version it saved.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltrainer.exceptions import StoreError
from mltrainer.pipeline import Trainer
from mltrainer.registry import ModelRegistry
from tests.conftest import redis_binary, start_redis
from tests.faults.conftest import NAME, Workspace, one_line, read_only

pytestmark = pytest.mark.faults

DEAD_STORES = {
    "unreachable redis": ("redis://127.0.0.1:1/0", "store.url: Cannot reach Redis"),
    "unknown scheme": ("mongodb://x/y", "store.url: Unsupported store URL 'mongodb://x/y'"),
}


@pytest.fixture
def no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading bars fails the test: every check must come before it."""

    def loaded(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("bars were loaded before the destinations were checked")

    for module in ("mltrainer.pipeline._plan", "mltrainer.pipeline._predict"):
        monkeypatch.setattr(f"{module}.load_bars", loaded)


def _commands(space: Workspace) -> dict[str, list[str]]:
    config = str(space.config)
    return {
        "train": ["train", config, "--quiet"],
        "tune": ["tune", config, "--trials", "2"],
        "monitor": ["monitor", NAME, "--config", config, "--data", str(space.bars)],
    }


def _versions(space: Workspace) -> list[int]:
    return [row["version"] for row in space.registry.list_versions(NAME) if row["ok"]]


@pytest.mark.parametrize("store", list(DEAD_STORES))
@pytest.mark.parametrize("command", ["train", "tune", "monitor"])
def test_a_dead_store_is_refused_before_any_data(
    workspace: Workspace,
    no_data: None,
    capsys: pytest.CaptureFixture[str],
    store: str,
    command: str,
) -> None:
    url, message = DEAD_STORES[store]
    workspace.write(store={"url": url})
    assert workspace.cli(*_commands(workspace)[command]) == 2
    assert message in one_line(capsys.readouterr().err)
    assert _versions(workspace) == [1]  # nothing saved


def test_a_read_only_registry_is_refused_before_any_data(
    workspace: Workspace, no_data: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with read_only(workspace.models):
        assert workspace.cli(*_commands(workspace)["train"]) == 2
        error = one_line(capsys.readouterr().err)
    assert f"registry.root '{workspace.models}'" in error
    assert "is not writable" in error
    assert _versions(workspace) == [1]


def test_a_registry_root_that_is_a_file_is_refused_before_any_data(
    workspace: Workspace, no_data: None, capsys: pytest.CaptureFixture[str]
) -> None:
    root = workspace.root / "models.txt"
    root.write_text("not a folder", encoding="utf-8")
    for option in (["--root", str(root)], ["--root", str(root / "below")]):
        assert workspace.cli(*_commands(workspace)["train"], *option) == 2
        error = one_line(capsys.readouterr().err)
        assert f"'{root}' is a file, not a folder" in error, error
    assert root.read_text(encoding="utf-8") == "not a folder"


def test_a_registry_that_turns_read_only_after_the_check_fails_in_one_line(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the check passes, then the folder cannot be written when the version is saved
    monkeypatch.setattr("mltrainer.pipeline._trainer.check_destinations", lambda config: None)
    with read_only(workspace.models):
        assert workspace.cli(*_commands(workspace)["train"]) == 2
        error = one_line(capsys.readouterr().err)
    assert error.startswith(f"error: cannot save model '{NAME}' in registry root")
    assert _versions(workspace) == [1]
    assert [p.name for p in (workspace.models / NAME).iterdir() if p.name.startswith(".")] == []


def test_registry_save_to_a_read_only_root_is_a_store_error(workspace: Workspace) -> None:
    model = workspace.registry.load(NAME)
    with read_only(workspace.models), pytest.raises(StoreError, match="registry root") as info:
        ModelRegistry(workspace.models).save(
            NAME, model.native(), feature_names=model.feature_names
        )
    assert "\n" not in str(info.value)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    proc, url = start_redis(redis_binary(), tmp_path)
    yield proc, url
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.mark.redis
def test_a_run_whose_store_dies_after_saving_names_the_saved_version(
    workspace: Workspace,
    redis_server: tuple[subprocess.Popen[bytes], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, url = redis_server
    workspace.write(store={"url": url})
    record = Trainer._record

    def dies_first(self: Trainer, *args: Any) -> None:
        server.kill()  # the store goes away after the version was saved
        server.wait()
        record(self, *args)

    monkeypatch.setattr(Trainer, "_record", dies_first)
    assert workspace.cli(*_commands(workspace)["train"]) == 2
    error = one_line(capsys.readouterr().err)
    saved = workspace.models / NAME / "2"
    assert error.startswith(f"error: saved {NAME} version 2 to {saved}, but recording")
    assert "no need to train again" in error
    assert _versions(workspace) == [1, 2]  # the saved version is whole


@pytest.mark.parametrize("case", ["unreachable redis", "missing folder", "report in a file"])
def test_tuning_destinations_are_checked_before_any_data(
    workspace: Workspace, no_data: None, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    (workspace.root / "taken").write_text("a file", encoding="utf-8")
    args = _commands(workspace)["tune"]
    if case == "unreachable redis":
        workspace.write(tuning={"storage": "redis://127.0.0.1:1/0"})
        message = "tuning.storage 'redis://127.0.0.1:1/0' is unreachable"
    elif case == "missing folder":
        workspace.write(tuning={"storage": f"sqlite:///{workspace.root}/nowhere/optuna.db"})
        message = f"folder '{workspace.root}/nowhere' does not exist"
    else:
        args = [*args, "--report", "taken/study.html"]
        message = "--report 'taken/study.html': 'taken' is a file, not a folder"
    assert workspace.cli(*args) == 2
    assert message in one_line(capsys.readouterr().err)


@pytest.mark.redis
def test_a_tuning_run_whose_store_dies_at_the_end_says_where_its_trials_are(
    workspace: Workspace,
    redis_server: tuple[subprocess.Popen[bytes], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mltrainer.tuning import _study

    server, url = redis_server
    sqlite_store = workspace.raw["store"]["url"]
    workspace.write(store={"url": url}, model={"type": "logistic", "params": {}})
    write = _study.write_result

    def dies_first(*args: Any) -> None:
        server.kill()  # the store goes away after the trials ran
        server.wait()
        write(*args)

    monkeypatch.setattr(_study, "write_result", dies_first)
    assert workspace.cli(*_commands(workspace)["tune"]) == 2
    error = one_line(capsys.readouterr().err)
    assert error.startswith(f"error: study {NAME}-logistic in sqlite:///"), error
    assert "holds its 2 trials, but writing the result to the store failed" in error
    monkeypatch.setattr(_study, "write_result", write)
    workspace.write(store={"url": sqlite_store})  # the store is back: the rerun finishes
    assert workspace.cli(*_commands(workspace)["tune"]) == 0
    assert "2 trials (2 complete" in capsys.readouterr().out  # no new trial ran
