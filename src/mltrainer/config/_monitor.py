"""The ``monitor`` config section: drift alpha, metric retention, alert rules and sinks."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlparse

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mltrainer.exceptions import did_you_mean
from mltrainer.vocabulary import check_metric_name

__all__ = [
    "AlertRuleConfig",
    "MonitorConfig",
    "RetentionConfig",
    "SinksConfig",
    "WebhookConfig",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: str | None, *, what: str) -> str | None:
    if value is None:
        return None
    try:
        delta = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"'{value}' is not a duration; write it like '30min', '1h' or '7D'"
        ) from None
    if delta < pd.Timedelta(0):
        raise ValueError(f"{what} must not be negative, got '{value}'")
    return value


class AlertRuleConfig(_Section):
    """Fire when the mean of the last ``window`` points of ``metric`` is ``op`` ``threshold``.

    ``metric`` is a performance metric (``roc_auc``, ``ic``, ``sharpe``, ...) or a drift
    statistic (``drift.n_drifted``, ``drift.share_drifted``, ``concept.difference``, ...);
    see :data:`mltrainer.monitor.ALERT_METRICS`. After firing, the rule stays silent for
    ``cooldown``. ``action: retrain`` also retrains the model with its stored config.
    """

    name: str
    metric: str
    op: Literal["above", "below"]
    threshold: float
    window: int = 1
    cooldown: str = "1h"
    action: Literal["none", "retrain"] = "none"

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            fields = cls.model_fields
            for key in value:
                if key not in fields:
                    raise ValueError(
                        f"unknown key '{key}' in an alert rule{did_you_mean(str(key), fields)};"
                        f" valid keys: {', '.join(fields)}"
                    )
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        check_metric_name(value)
        return value

    @field_validator("window")
    @classmethod
    def _positive_window(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"window must be at least 1 history point, got {value}")
        return value

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, value: str) -> str:
        return _duration(value, what="cooldown") or value

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"threshold must be a finite number, got {value}")
        return value


class WebhookConfig(_Section):
    """POST each alert as JSON to ``url``; ``retries`` more tries with exponential backoff."""

    url: str
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.5

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"'{value}' is not an http(s) URL; write e.g. 'https://host/hook'")
        return value

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {value}")
        return value

    @field_validator("retries")
    @classmethod
    def _retries(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"retries must be >= 0, got {value}")
        return value

    @field_validator("backoff")
    @classmethod
    def _backoff(cls, value: float) -> float:
        if value < 0:
            raise ValueError(f"backoff must be >= 0 seconds, got {value}")
        return value


class SinksConfig(_Section):
    """Where alerts go besides the store: the log, a webhook, a Redis pub/sub channel.

    ``redis_url`` defaults to the store URL (which must then be ``redis://``).
    """

    log: bool = True
    webhook: WebhookConfig | None = None
    redis_channel: str | None = None
    redis_url: str | None = None


class RetentionConfig(_Section):
    """How much metric history to keep per series: the newest ``max_points``, none older
    than ``max_age`` (a duration such as ``'365D'``); ``null`` turns a limit off."""

    max_points: int | None = 10_000
    max_age: str | None = None

    @field_validator("max_points")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"max_points must be at least 1 (or null for no limit), got {value}")
        return value

    @field_validator("max_age")
    @classmethod
    def _age(cls, value: str | None) -> str | None:
        return _duration(value, what="max_age")


class MonitorConfig(_Section):
    """Monitoring: drift significance, history retention, alert rules and sinks."""

    alpha: float = 0.05
    rules: list[AlertRuleConfig] = Field(default_factory=list)
    sinks: SinksConfig = Field(default_factory=SinksConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    max_alerts: int = 1000

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"alpha must be in (0, 1), got {value}")
        return value

    @field_validator("max_alerts")
    @classmethod
    def _max_alerts(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"max_alerts must be at least 1, got {value}")
        return value

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, value: list[AlertRuleConfig]) -> list[AlertRuleConfig]:
        seen: set[str] = set()
        for rule in value:
            if rule.name in seen:
                raise ValueError(
                    f"two alert rules are named '{rule.name}'; give each a unique name"
                )
            seen.add(rule.name)
        return value
