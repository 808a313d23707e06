"""kill -9 of `mltrainer tune` inside a trial and while it writes its result.

A worker killed inside a trial leaves that trial RUNNING and every finished trial as it
was; the next `tune` fails the dead worker's trial and finishes the study. A worker killed
inside the store transaction of its result leaves no part of the result (``last``,
``history``, ``last_run`` are written together); the next `tune` writes it once.
"""

from __future__ import annotations

import signal

import optuna
import pytest
from optuna.trial import TrialState

from mltrainer.store import open_store, tuning_key
from tests.faults.conftest import NAME, Workspace

pytestmark = pytest.mark.faults

N_TRIALS = 4
STUDY = f"{NAME}-logistic"


def _states(space: Workspace) -> list[TrialState]:
    storage = space.raw["tuning"]["storage"]
    return [t.state for t in optuna.load_study(study_name=STUDY, storage=storage).trials]


def _results(space: Workspace) -> dict[str, int]:
    """How many records each tuning key holds (a series counts its points)."""
    with open_store(space.raw["store"]["url"]) as store:
        return {
            "last": int(store.get(tuning_key(NAME, "logistic", "last")) is not None),
            "last_run": int(store.get(tuning_key(NAME, "logistic", "last_run")) is not None),
            "history": len(store.range(tuning_key(NAME, "logistic", "history"))),
        }


@pytest.fixture
def tuning_space(workspace: Workspace) -> Workspace:
    workspace.write(model={"type": "logistic", "params": {}})
    return workspace


def _tune(space: Workspace) -> list[str]:
    return ["tune", str(space.config), "--trials", str(N_TRIALS)]


def test_tune_killed_inside_a_trial(tuning_space: Workspace) -> None:
    hook = {"target": "mltrainer.tuning._objective:Objective.evaluate", "call": 3, "action": "die"}
    done = tuning_space.child(_tune(tuning_space), [hook])
    assert done.returncode == -signal.SIGKILL, done.stderr
    complete, running = TrialState.COMPLETE, TrialState.RUNNING
    assert _states(tuning_space) == [complete, complete, running]
    assert _results(tuning_space) == {"last": 0, "last_run": 0, "history": 0}

    assert tuning_space.cli(*_tune(tuning_space)) == 0
    states = _states(tuning_space)
    assert states[2] == TrialState.FAIL  # the dead worker's trial, failed by the next start
    assert states.count(complete) == N_TRIALS
    assert running not in states
    assert _results(tuning_space) == {"last": 1, "last_run": 1, "history": 1}


def test_tune_killed_while_writing_its_result(tuning_space: Workspace) -> None:
    hook = {"target": "mltrainer.store._sqlite:_apply", "call": 2, "action": "die"}
    done = tuning_space.child(_tune(tuning_space), [hook])
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert _states(tuning_space).count(TrialState.COMPLETE) == N_TRIALS  # the study is whole
    assert _results(tuning_space) == {"last": 0, "last_run": 0, "history": 0}  # no part of it

    assert tuning_space.cli(*_tune(tuning_space)) == 0  # nothing to run: writes the result
    assert _states(tuning_space).count(TrialState.COMPLETE) == N_TRIALS
    assert _results(tuning_space) == {"last": 1, "last_run": 1, "history": 1}
