"""Alert windows: one model version only, a re-run counted once, rule names checked first.

The cooldown, sink and retrain tests are in test_ops.py; these run on SQLite and a real
Redis (the ``store`` fixture).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mltrainer.exceptions import ConfigError
from mltrainer.monitor._alerts import evaluate_rules, recent_alerts
from mltrainer.monitor._history import track
from mltrainer.store import Store, alert_last_fired_key

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _rule(**kwargs: Any) -> dict[str, Any]:
    base = {"name": "auc-low", "metric": "roc_auc", "op": "below", "threshold": 0.5}
    return {**base, "window": 3, "cooldown": "0s", "action": "none", **kwargs}


def _run(store: Store, day: int, auc: float, *, version: int | None, rule: dict[str, Any]):
    when = T0 + timedelta(days=day)
    track(store, "spy", {"roc_auc": auc}, timestamp=when, version=version)
    return evaluate_rules(
        store, "spy", [rule], current={"roc_auc": auc}, timestamp=when, version=version
    )


def test_alert_window_never_mixes_model_versions(store: Store) -> None:
    rule = _rule()
    for day in range(3):  # version 1 is bad: its window fires
        fired = _run(store, day, 0.40, version=1, rule=rule)
    assert [a.version for a in fired] == [1]
    # version 2 (retrained) is good: its window holds its own point only, mean 0.6
    assert _run(store, 3, 0.60, version=2, rule=rule) == []
    assert _run(store, 4, 0.48, version=2, rule=rule) == []  # (0.60 + 0.48) / 2 = 0.54
    fired = _run(store, 5, 0.30, version=2, rule=rule)  # (0.60 + 0.48 + 0.30) / 3 = 0.46
    assert len(fired) == 1
    assert fired[0].value == pytest.approx(0.46)
    assert fired[0].version == 2
    # a backfill of version 1 between them does not enter version 2's window
    _run(store, 6, 0.90, version=1, rule=rule)
    fired = _run(store, 7, 0.60, version=2, rule=rule)  # (0.48 + 0.30 + 0.60) / 3 = 0.46
    assert fired[0].value == pytest.approx(0.46)


def test_a_rerun_of_the_same_time_is_counted_once(store: Store) -> None:
    rule = _rule(op="above", threshold=0.5, window=2, metric="drift.share_drifted")

    def run(hour: int, share: float) -> list[Any]:
        when = T0 + timedelta(hours=hour)
        metrics = {"drift.share_drifted": share}
        track(store, "spy", metrics, timestamp=when, version=1)
        return evaluate_rules(store, "spy", [rule], current=metrics, timestamp=when, version=1)

    assert run(0, 0.1) == []
    assert run(1, 0.8) == []  # (0.1 + 0.8) / 2 = 0.45
    assert run(1, 0.8) == []  # the same run again: still 0.45, not (0.8 + 0.8) / 2
    assert recent_alerts(store, "spy") == []


def test_bad_rule_name_is_refused_before_anything_is_written(store: Store) -> None:
    good, bad = _rule(window=1), _rule(name="auc low", window=1)
    track(store, "spy", {"roc_auc": 0.1}, timestamp=T0, version=1)
    with pytest.raises(ConfigError, match="rule name 'auc low' is invalid"):
        evaluate_rules(store, "spy", [good, bad], current={"roc_auc": 0.1}, timestamp=T0)
    assert store.get(alert_last_fired_key("spy", "auc-low")) is None
    assert recent_alerts(store, "spy") == []
