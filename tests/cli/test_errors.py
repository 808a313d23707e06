"""Config errors name the setting and the value once; the name rule is stated right."""

from __future__ import annotations

from typing import Any

import pytest

from mltrainer.cli import main
from mltrainer.config import config_from_dict
from mltrainer.exceptions import ConfigError
from mltrainer.registry import ModelRegistry
from mltrainer.store import name_fault, valid_name

RULE = {"name": "r", "metric": "roc_auc", "op": "below", "threshold": 0.5}
HOOK = {"url": "https://h/hook"}

# (raw config, the text of the bad value, where the error points): one per validator
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"cv": {"n_splits": -37}}, "-37", "cv.n_splits"),
    ({"cv": {"n_splits": "abc37"}}, "abc37", "cv.n_splits"),
    ({"name": ".x37"}, ".x37", "name"),
    ({"data": {"session_close": 1637}}, "1637", "data.session_close"),
    ({"selection": {"method": "permutatoin37"}}, "permutatoin37", "selection.method"),
    ({"selection": {"top_k": -37}}, "-37", "selection.top_k"),
    ({"selection": {"n_repeats": -37}}, "-37", "selection.n_repeats"),
    ({"selection": {"n_splits": -37}}, "-37", "selection.n_splits"),
    ({"tuning": {"n_trials": -37}}, "-37", "tuning.n_trials"),
    ({"tuning": {"workers": -37}}, "-37", "tuning.workers"),
    ({"tuning": {"significance": 37.5}}, "37.5", "tuning.significance"),
    ({"tuning": {"every": "soon37"}}, "soon37", "tuning.every"),
    ({"monitor": {"alpha": 37.5}}, "37.5", "monitor.alpha"),
    ({"monitor": {"max_alerts": -37}}, "-37", "monitor.max_alerts"),
    ({"monitor": {"retention": {"max_points": -37}}}, "-37", "monitor.retention.max_points"),
    ({"monitor": {"retention": {"max_age": "-37D"}}}, "-37D", "monitor.retention.max_age"),
    ({"monitor": {"retention": {"max_age": "soon37"}}}, "soon37", "monitor.retention.max_age"),
    ({"monitor": {"rules": [{**RULE, "window": -37}]}}, "-37", "monitor.rules.0.window"),
    ({"monitor": {"rules": [{**RULE, "cooldown": "-37h"}]}}, "-37h", "monitor.rules.0.cooldown"),
    ({"monitor": {"rules": [{**RULE, "metric": "auc37"}]}}, "auc37", "monitor.rules.0.metric"),
    ({"monitor": {"rules": [{**RULE, "threshold": float("inf")}]}}, "inf", "monitor.rules.0"),
    ({"monitor": {"sinks": {"webhook": {"url": "ftp://h37"}}}}, "ftp://h37", "monitor.sinks"),
    ({"monitor": {"sinks": {"webhook": {**HOOK, "timeout": -37.5}}}}, "-37.5", "monitor.sinks"),
    ({"monitor": {"sinks": {"webhook": {**HOOK, "retries": -37}}}}, "-37", "monitor.sinks"),
    ({"monitor": {"sinks": {"webhook": {**HOOK, "backoff": -37.5}}}}, "-37.5", "monitor.sinks"),
]


@pytest.mark.parametrize(("raw", "value", "where"), BAD, ids=[b[2] + "=" + b[1] for b in BAD])
def test_config_errors_show_the_value_once(raw: dict[str, Any], value: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    message = str(info.value)
    assert message.startswith(where), message
    assert message.count(value) == 1, message  # "got -3 (got -3)" said it twice
    assert "\n" not in message


def test_cli_config_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--set", "cv.n_splits=-3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: cv.n_splits: must be at least 2, got -3"


@pytest.mark.parametrize(
    ("name", "fault"),
    [
        (".hidden", "it starts with '.': the first character must be a letter or digit"),
        ("-x", "it starts with '-': the first character must be a letter or digit"),
        ("_x", "it starts with '_'"),
        ("a/b", "'/' is not allowed: after a first letter or digit use only letters"),
        ("a b", "' ' is not allowed"),
        ("", "it is empty"),
        (3, "it is a int, not a string"),
    ],
)
def test_the_name_rule_says_what_is_wrong(name: Any, fault: str, tmp_path: Any) -> None:
    assert (name_fault(name) or "").startswith(fault)
    with pytest.raises(ConfigError, match=f"model name {name!r} is invalid: {fault}"):
        valid_name(name)
    with pytest.raises(ConfigError, match=f"invalid model name {name!r}: {fault}"):
        ModelRegistry(tmp_path).load(name)
    if isinstance(name, str):
        with pytest.raises(ConfigError, match=f"^name: model name {name!r} is invalid: {fault}"):
            config_from_dict({"name": name})


def test_valid_names_pass_everywhere() -> None:
    for name in ("spy", "spy-direction", "sp500.v2", "a_b-c.d", "7d"):
        assert name_fault(name) is None
        assert valid_name(name) == name
        assert config_from_dict({"name": name}).name == name
