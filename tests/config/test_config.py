"""Config: defaults that run, unknown keys refused with a suggestion, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrainer.config import config_from_dict, config_to_yaml, load_config
from mltrainer.exceptions import ConfigError, NotFoundError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_defaults_run_on_bundled_data() -> None:
    config = load_config()
    assert config.data.source == "sp500"
    assert config.label["name"] == "direction"
    assert config.cv.method == "purged_kfold"
    assert config.store.url.startswith("sqlite:///")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_config_is_valid(path: Path) -> None:
    config = load_config(path)
    assert config.name


def test_unknown_cv_key_names_it_and_suggests() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"cv": {"n_split": 5}})
    message = str(info.value)
    assert "n_split" in message
    assert "did you mean 'n_splits'?" in message
    assert "\n" not in message


def test_unknown_top_level_key_suggests() -> None:
    with pytest.raises(ConfigError, match=r"'modle'.*did you mean 'model'"):
        config_from_dict({"modle": {"type": "xgboost"}})


def test_bad_value_is_one_line_naming_the_setting() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"cv": {"n_splits": 1}})
    assert str(info.value).startswith("cv.n_splits:")
    assert "\n" not in str(info.value)


def test_bad_model_name() -> None:
    with pytest.raises(ConfigError, match="name"):
        config_from_dict({"name": "../evil"})


def test_label_and_feature_specs_are_validated() -> None:
    with pytest.raises(ConfigError, match="did you mean 'direction'"):
        config_from_dict({"label": {"name": "directon", "horizon": 5}})
    with pytest.raises(ConfigError, match="did you mean 'rsi'"):
        config_from_dict({"features": [{"name": "rsii", "window": 14}]})


def test_overrides_parse_yaml_values() -> None:
    config = load_config(
        overrides=["cv.n_splits=3", "model.type=lightgbm", "data.source=[sp500, nasdaq]"]
    )
    assert config.cv.n_splits == 3
    assert config.model.type == "lightgbm"
    assert config.data.source == ["sp500", "nasdaq"]


def test_override_without_equals_is_refused() -> None:
    with pytest.raises(ConfigError, match="key=value"):
        load_config(overrides=["cv.n_splits"])


def test_missing_file_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cv: {n_splits: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(listing)


def test_shown_config_round_trips(tmp_path: Path) -> None:
    config = load_config(EXAMPLES / "sp500_direction.yaml")
    path = tmp_path / "shown.yaml"
    path.write_text(config_to_yaml(config), encoding="utf-8")
    assert load_config(path) == config


def test_dotted_override_merges_into_the_default_label() -> None:
    config = load_config(overrides=["label.horizon=10"])
    assert config.label == {"name": "direction", "horizon": 10}
