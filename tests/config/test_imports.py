"""Layers at run time: parsing a config with alert rules loads no monitoring code.

The layer contract (`lint-imports`) proves no config module imports monitor; this proves
the cost a user pays: in a fresh interpreter, a config with rules leaves ``sys.modules``
without any ``mltrainer.monitor`` module (nor river, redis or scipy.stats).
"""

from __future__ import annotations

import json
import subprocess
import sys

_SCRIPT = """
import json, sys
from mltrainer.config import config_from_dict
config = config_from_dict({"monitor": {"rules": [
    {"name": "auc-low", "metric": "roc_auc", "op": "below", "threshold": 0.5, "window": 5},
    {"name": "drifting", "metric": "drift.share_drifted", "op": "above", "threshold": 0.2,
     "action": "retrain"},
]}})
assert len(config.monitor.rules) == 2
print(json.dumps(sorted(sys.modules)))
"""


def test_config_with_alert_rules_imports_no_monitor_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True, timeout=120
    )
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert "mltrainer.config" in modules
    heavy = [
        m
        for m in modules
        if m.startswith(("mltrainer.monitor", "mltrainer.pipeline", "river", "redis"))
    ]
    assert heavy == []
