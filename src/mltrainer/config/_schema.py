"""Typed configuration: every section a strict pydantic model with defaults that run anywhere."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mltrainer.config._augment import AugmentConfig
from mltrainer.config._ensemble import (
    MemberConfig,
    MetaConfig,
    RegimeConfig,
    check_ensemble_settings,
)
from mltrainer.config._explain import ExplainConfig
from mltrainer.config._monitor import MonitorConfig
from mltrainer.config._selection import SelectionConfig
from mltrainer.config._tuning import TuningConfig

__all__ = [
    "CVConfig",
    "Config",
    "DataConfig",
    "ModelConfig",
    "RegistryConfig",
    "StoreConfig",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """Where bars come from: a bundled name, a list of names (a panel), or a CSV/Parquet path."""

    source: str | list[str] = "sp500"
    columns: dict[str, str] = Field(default_factory=dict)
    symbols: list[str] | None = None
    start: str | None = None
    end: str | None = None
    tz: str = "UTC"
    # Whether a file's timestamps mark each bar's close or its open (bars are stamped at
    # their close either way); session_close is the "HH:MM" close, in tz, of date-only bars.
    bar_time: Literal["open", "close"] = "close"
    session_close: str | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date_as_text(cls, value: Any) -> Any:
        # YAML reads `start: 2012-01-01` as a date: keep it as ISO text.
        return value.isoformat() if isinstance(value, (date, datetime)) else value

    @field_validator("session_close", mode="before")
    @classmethod
    def _clock_as_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(
                f"{value!r} is a number: YAML reads an unquoted 16:00 as 960; quote it, "
                "session_close: '16:00'"
            )
        return value


class ModelConfig(_Section):
    """Model type from the catalogue and overrides of its default parameters.

    ``type: ensemble`` combines ``members`` by ``combine`` (see ``config/_ensemble.py`` and
    ``docs/ensembles.md``); its ``params`` keys are ``<member>__<param>``.
    """

    type: str = "xgboost"
    params: dict[str, Any] = Field(default_factory=dict)
    # "optimized": the best params `mltrainer tune` stored replace the searched ones;
    # `params: fixed` / `params: optimized` is shorthand for this with no overrides.
    params_source: Literal["fixed", "optimized"] = "fixed"
    combine: str | None = None
    members: list[MemberConfig] | None = None
    meta: MetaConfig | None = None
    regime: RegimeConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _params_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("params") in ("fixed", "optimized"):
            return {**data, "params": {}, "params_source": data["params"]}
        return data

    @model_validator(mode="after")
    def _ensemble_settings(self) -> ModelConfig:
        check_ensemble_settings(
            self.type, self.combine, self.members, self.meta, self.regime, self.params
        )
        return self


class CVConfig(_Section):
    """Time-series cross-validation; parameters not used by ``method`` must stay unset."""

    method: str = "purged_kfold"
    n_splits: int = 5
    embargo: int | float | str | None = None
    gap: int | None = None
    n_groups: int | None = None
    n_test_groups: int | None = None
    max_splits: int | None = None  # combinatorial: refuse more than C(n_groups, n_test_groups)
    initial_train_size: int | None = None
    step_size: int | None = None
    max_train_size: int | None = None
    test_size: int | None = None
    scoring: list[str] | None = None
    sample_weight: Literal["none", "uniqueness"] = "none"
    n_jobs: int | None = None

    @field_validator("n_splits")
    @classmethod
    def _positive_splits(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"must be at least 2, got {value}")
        return value


class RegistryConfig(_Section):
    """Local model registry folder."""

    root: str = "models"


class StoreConfig(_Section):
    """Key-value / series store: ``sqlite:///path`` (default) or ``redis://host:port/db``."""

    url: str = "sqlite:///mltrainer.db"
    prefix: str = "mltrainer"


def _default_label() -> dict[str, Any]:
    return {"name": "direction", "horizon": 5}


class Config(_Section):
    """The whole run: data -> features -> label -> model -> cv -> registry."""

    name: str = "sp500-direction"
    seed: int = 42
    data: DataConfig = Field(default_factory=DataConfig)
    features: list[dict[str, Any]] | None = None
    label: dict[str, Any] = Field(default_factory=_default_label)
    model: ModelConfig = Field(default_factory=ModelConfig)
    cv: CVConfig = Field(default_factory=CVConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    tuning: TuningConfig = Field(default_factory=TuningConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        from mltrainer.store import valid_name  # the one name rule (registry, store keys)

        return valid_name(value)

    @field_validator("features")
    @classmethod
    def _valid_features(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if value is not None:
            from mltrainer.features import validate_feature_spec

            validate_feature_spec(value)
        return value

    @field_validator("label")
    @classmethod
    def _valid_label(cls, value: dict[str, Any]) -> dict[str, Any]:
        from mltrainer.labels import validate_label_spec

        validate_label_spec(value)
        return value
