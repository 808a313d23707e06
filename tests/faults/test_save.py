"""kill -9 of `mltrainer train` at each step of saving: never a half-written version.

The child dies at one exact step (a hook, no timing): while the version's files are in
its hidden temp folder, after its manifest, after the rename that publishes it, and in the
store transaction that records its scores. Every version left is whole and loads; the
store holds a record only for a version that exists; the next train cleans up and takes
the next number.
"""

from __future__ import annotations

import signal
from typing import Any

import pandas as pd
import pytest

from mltrainer.store import open_store, train_latest_key, train_scores_series
from tests.faults.conftest import NAME, Workspace, hidden

pytestmark = pytest.mark.faults

_SAVE = "mltrainer.registry._save"
KILL_POINTS: dict[str, dict[str, Any]] = {
    # the model, extra files and metadata are in the temp folder; no manifest yet
    "files written": {"target": f"{_SAVE}:write_manifest", "when": "before"},
    # complete in its temp folder, not renamed to its number
    "before rename": {"target": f"{_SAVE}:write_manifest", "when": "after"},
    # renamed (visible), before the folder entry's fsync and before the store record
    "after rename": {"target": f"{_SAVE}:fsync_dir", "call": 2, "when": "before"},
    # inside the store transaction of the scores record (series point + latest)
    "recording scores": {"target": "mltrainer.store._sqlite:_apply", "when": "before"},
}
PUBLISHED = {"after rename", "recording scores"}


def _recorded(space: Workspace) -> tuple[list[int], int | None]:
    with open_store(space.raw["store"]["url"]) as store:
        series = [entry["version"] for _, entry in store.range(train_scores_series(NAME))]
        latest = store.get(train_latest_key(NAME))
    return series, None if latest is None else latest["version"]


def _check_versions(space: Workspace, expected: list[int]) -> None:
    registry = space.registry
    rows = registry.list_versions(NAME)
    assert [row["version"] for row in rows] == expected
    assert all(row["ok"] for row in rows), rows
    X = pd.DataFrame([[0.0] * len(registry.load(NAME).feature_names)] * 2)
    for version in expected:  # every version left loads and predicts
        model = registry.load(NAME, version)
        assert len(model.predict(X.set_axis(model.feature_names, axis=1))) == 2


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_train_killed_while_saving_leaves_whole_versions_only(
    workspace: Workspace, point: str
) -> None:
    hook: dict[str, Any] = {"action": "die", **KILL_POINTS[point]}
    done = workspace.child(["train", str(workspace.config), "--quiet"], [hook])
    assert done.returncode == -signal.SIGKILL, done.stderr

    published = point in PUBLISHED
    _check_versions(workspace, [1, 2] if published else [1])
    # the store never records a version that is not there; a killed record is not there
    assert _recorded(workspace) == ([1], 1)
    if not published:  # the dead save's temp folder (and its lock) are left...
        assert hidden(workspace.models / NAME)

    # ...and the next run removes them, takes the next number and records it
    assert workspace.cli("train", str(workspace.config), "--quiet") == 0
    after = [1, 2, 3] if published else [1, 2]
    _check_versions(workspace, after)
    assert hidden(workspace.models / NAME) == []
    assert _recorded(workspace) == ([1, after[-1]], after[-1])
