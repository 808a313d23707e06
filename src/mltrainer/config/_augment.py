"""The ``augment`` section of the config (off by default; see ``mltrainer.augment``).

One flat section whose ``method`` says which of the other keys apply; a key that the
method does not use must stay unset, so a typo'd combination is refused, not ignored::

    augment: {method: smote, k_neighbors: 5, sampling_strategy: 0.5, recalibrate: isotonic}
    augment: {method: block_bootstrap, kind: stationary, block: auto, multiplier: 2}
    augment: {method: gan, epochs: 300, window: 64, gate: strict}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from mltrainer.exceptions import did_you_mean

__all__ = ["AUGMENT_METHODS", "SMOTE_METHODS", "AugmentConfig"]

#: Over/under-samplers of imbalanced-learn (classification only).
SMOTE_METHODS = ("smote", "borderline_smote", "adasyn", "random_over", "random_under")

#: ``augment.method`` values.
AUGMENT_METHODS = ("none", *SMOTE_METHODS, "block_bootstrap", "gan")

_COMMON = ("recalibrate", "weight", "seed")
_KEYS: dict[str, tuple[str, ...]] = {
    "none": (),
    **{m: ("k_neighbors", "sampling_strategy", *_COMMON) for m in SMOTE_METHODS},
    "block_bootstrap": ("kind", "block", "multiplier", "unit", *_COMMON),
    "gan": (
        "epochs",
        "window",
        "batch_size",
        "latent_dim",
        "hidden",
        "n_critic",
        "learning_rate",
        "gp_weight",
        "gate",
        "holdout",
        "multiplier",
        *_COMMON,
    ),
}
# random over/under-sampling has no neighbours
_KEYS["random_over"] = ("sampling_strategy", *_COMMON)
_KEYS["random_under"] = ("sampling_strategy", *_COMMON)

_DEFAULTS: dict[str, Any] = {
    "k_neighbors": 5,
    "sampling_strategy": "auto",
    "weight": 1.0,
    "kind": "stationary",
    "block": "auto",
    "multiplier": 2.0,
    "unit": "rows",
    "epochs": 300,
    "window": 64,
    "batch_size": 128,
    "latent_dim": 8,
    "hidden": 32,
    "n_critic": 5,
    "learning_rate": 1e-4,
    "gp_weight": 10.0,
    "gate": "strict",
    "holdout": 0.2,
}

_STRATEGIES = ("auto", "minority", "not minority", "not majority", "all", "majority")


class AugmentConfig(BaseModel):
    """Augmentation of each training fold (never of a test row); ``method: none`` is off.

    SMOTE family (``smote``, ``borderline_smote``, ``adasyn``, ``random_over``,
    ``random_under``; classification labels only): ``k_neighbors`` neighbours within the
    same contiguous training segment, ``sampling_strategy`` a float (each class up to that
    share of the largest class, or for ``random_under`` the largest down to the smallest
    over that share) or an imbalanced-learn string. ``block_bootstrap``: ``kind``
    (``stationary``/``circular``), ``block`` (``auto`` = Politis-White optimal length, or
    bars), ``multiplier`` (rows after augmentation over real rows), ``unit`` (``rows``:
    training rows resampled in blocks; ``paths``: price paths rebuilt from bootstrapped
    bars, on which features and labels are computed). ``gan``: a WGAN-GP on windows of log
    returns, ranges and volume changes (``epochs``, ``window``, ``batch_size``,
    ``latent_dim``, ``hidden``, ``n_critic``, ``learning_rate``, ``gp_weight``), used only
    when its quality ``gate`` (``strict``/``lenient``) passes on the last ``holdout`` share
    of the training windows. Every method: ``recalibrate`` (``none``/``isotonic``/
    ``platt``: probabilities recalibrated on purged out-of-fold predictions; default
    ``isotonic`` for the SMOTE family, ``none`` otherwise), ``weight`` (factor on the
    synthetic rows' weights), ``seed`` (default: the run's).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "none"
    k_neighbors: int | None = None
    sampling_strategy: float | str | None = None
    recalibrate: Literal["none", "isotonic", "platt"] | None = None
    weight: float | None = None
    seed: int | None = None
    kind: Literal["stationary", "circular"] | None = None
    block: int | Literal["auto"] | None = None
    multiplier: float | None = None
    unit: Literal["rows", "paths"] | None = None
    epochs: int | None = None
    window: int | None = None
    batch_size: int | None = None
    latent_dim: int | None = None
    hidden: int | None = None
    n_critic: int | None = None
    learning_rate: float | None = None
    gp_weight: float | None = None
    gate: Literal["strict", "lenient"] | None = None
    holdout: float | None = None

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value not in AUGMENT_METHODS:
            raise ValueError(
                f"unknown method '{value}'{did_you_mean(value, AUGMENT_METHODS)};"
                f" choose one of {', '.join(AUGMENT_METHODS)}"
            )
        return value

    @field_validator("k_neighbors", "epochs", "batch_size", "latent_dim", "hidden", "n_critic")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be at least 1, got {value}")
        return value

    @field_validator("block")
    @classmethod
    def _block(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"must be 'auto' or at least 1 bar, got {value}")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: int | None) -> int | None:
        if value is not None and value < 8:
            raise ValueError(f"must be at least 8 bars, got {value}")
        return value

    @field_validator("multiplier")
    @classmethod
    def _multiplier(cls, value: float | None) -> float | None:
        if value is not None and not value > 1:
            raise ValueError(f"must be above 1 (rows after / real rows), got {value}")
        return value

    @field_validator("weight", "learning_rate", "gp_weight")
    @classmethod
    def _positive_float(cls, value: float | None) -> float | None:
        if value is not None and not value > 0:
            raise ValueError(f"must be positive, got {value}")
        return value

    @field_validator("holdout")
    @classmethod
    def _share(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 1:
            raise ValueError(f"must be in (0, 1), got {value}")
        return value

    @field_validator("sampling_strategy")
    @classmethod
    def _strategy(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in _STRATEGIES:
            raise ValueError(
                f"unknown sampling_strategy '{value}'{did_you_mean(value, _STRATEGIES)};"
                f" use a float in (0, 1] or one of {', '.join(_STRATEGIES)}"
            )
        if isinstance(value, float | int) and not isinstance(value, bool) and not 0 < value <= 1:
            raise ValueError(f"a float sampling_strategy must be in (0, 1], got {value}")
        return value

    @model_validator(mode="after")
    def _keys_of_method(self) -> AugmentConfig:
        allowed = set(_KEYS[self.method])
        foreign = [
            name
            for name in type(self).model_fields
            if name != "method" and getattr(self, name) is not None and name not in allowed
        ]
        if foreign:
            keys = ", ".join(_KEYS[self.method]) or "no other key"
            raise ValueError(
                f"augment.{foreign[0]} does not apply to method '{self.method}' (it takes "
                f"{keys}); remove it or change the method"
            )
        return self

    @property
    def enabled(self) -> bool:
        """True unless ``method: none``."""
        return self.method != "none"

    def value(self, name: str) -> Any:
        """The effective value of ``name``: the one set, else the method's default."""
        given = getattr(self, name)
        if given is not None:
            return given
        if name == "recalibrate":
            return "isotonic" if self.method in SMOTE_METHODS else "none"
        return _DEFAULTS.get(name)
