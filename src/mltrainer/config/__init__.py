"""Typed, validated configuration: YAML in, pydantic models out, defaults that run anywhere."""

from mltrainer.config._augment import AugmentConfig
from mltrainer.config._ensemble import (
    COMBINE_METHODS,
    ENSEMBLE_TYPE,
    MemberConfig,
    MetaConfig,
    RegimeConfig,
)
from mltrainer.config._explain import (
    CriticalConfig,
    DecisionRetentionConfig,
    ExplainConfig,
    LimeConfig,
)
from mltrainer.config._load import apply_overrides, config_from_dict, config_to_yaml, load_config
from mltrainer.config._monitor import (
    AlertRuleConfig,
    MonitorConfig,
    RetentionConfig,
    SinksConfig,
    WebhookConfig,
)
from mltrainer.config._schema import (
    Config,
    CVConfig,
    DataConfig,
    ModelConfig,
    RegistryConfig,
    StoreConfig,
)
from mltrainer.config._selection import SelectionConfig
from mltrainer.config._tuning import TuningConfig, parse_interval

__all__ = [
    "COMBINE_METHODS",
    "ENSEMBLE_TYPE",
    "AlertRuleConfig",
    "AugmentConfig",
    "CVConfig",
    "Config",
    "CriticalConfig",
    "DataConfig",
    "DecisionRetentionConfig",
    "ExplainConfig",
    "LimeConfig",
    "MemberConfig",
    "MetaConfig",
    "ModelConfig",
    "MonitorConfig",
    "RegimeConfig",
    "RegistryConfig",
    "RetentionConfig",
    "SelectionConfig",
    "SinksConfig",
    "StoreConfig",
    "TuningConfig",
    "WebhookConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_yaml",
    "load_config",
    "parse_interval",
]
