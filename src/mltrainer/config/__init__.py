"""Typed, validated configuration: YAML in, pydantic models out, defaults that run anywhere."""

from mltrainer.config._load import apply_overrides, config_from_dict, config_to_yaml, load_config
from mltrainer.config._schema import (
    Config,
    CVConfig,
    DataConfig,
    ModelConfig,
    RegistryConfig,
    StoreConfig,
)

__all__ = [
    "CVConfig",
    "Config",
    "DataConfig",
    "ModelConfig",
    "RegistryConfig",
    "StoreConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_yaml",
    "load_config",
]
