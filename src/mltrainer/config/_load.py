"""YAML in, validated :class:`Config` out; errors are one line naming the key and the fix."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from mltrainer.config._schema import Config
from mltrainer.exceptions import ConfigError, NotFoundError, did_you_mean

__all__ = ["apply_overrides", "config_from_dict", "config_to_yaml", "load_config"]


def _section_model(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _check_keys(raw: Mapping[str, Any], model: type[BaseModel], path: str) -> None:
    """Refuse unknown keys with a suggestion, before pydantic's generic message."""
    fields = model.model_fields
    for key, value in raw.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in fields:
            scope = path or "config"
            raise ConfigError(
                f"Unknown key '{key}' in {scope}{did_you_mean(str(key), fields)};"
                f" valid keys: {', '.join(fields)}"
            )
        section = _section_model(fields[key].annotation)
        if section is not None and isinstance(value, Mapping):
            _check_keys(value, section, where)


def _one_line(error: ValidationError) -> str:
    """``loc: message (got value)``; the value only where the message does not show it
    already (our validators name it) and it is a single value, not a whole section."""
    first = error.errors()[0]
    loc = ".".join(str(part) for part in first["loc"]) or "config"
    message = " ".join(first["msg"].removeprefix("Value error, ").split())
    value = first.get("input")
    if isinstance(value, (Mapping, list)) or _shows(message, value):
        return f"{loc}: {message}"
    return f"{loc}: {message} (got {value!r})"


def _shows(message: str, value: Any) -> bool:
    """Whether ``message`` already names ``value``: ``got <value>``, quoted, or first."""
    text = str(value)
    if not text:
        return False
    forms = (f"got {text}", f"got {value!r}", f"'{text}'", f'"{text}"', repr(value))
    return any(form in message for form in forms) or message.startswith(f"{text} ")


def config_from_dict(raw: Mapping[str, Any] | None) -> Config:
    """Validate a mapping (e.g. parsed YAML) into a :class:`Config`."""
    raw = dict(raw or {})
    _check_keys(raw, Config, "")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a config mapping."""
    result: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(raw))) or {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set '{item}': expected key=value, e.g. --set cv.n_splits=3")
        node = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set '{item}': '{part}' is not a section")
            node = child
        node[parts[-1]] = yaml.safe_load(text) if text.strip() else None
    return result


def _with_free_form_defaults(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Seed free-form mapping sections (e.g. ``label``) with their defaults before a dotted
    override, so ``--set label.horizon=10`` changes the default label instead of replacing it."""
    seeded = dict(raw)
    defaults = Config()
    for item in overrides:
        top, dot, _ = item.partition("=")[0].strip().partition(".")
        field = Config.model_fields.get(top)
        if not dot or top in seeded or field is None:
            continue
        value = getattr(defaults, top)
        if isinstance(value, dict):
            seeded[top] = dict(value)
    return seeded


def load_config(
    path: str | os.PathLike[str] | None = None, *, overrides: Sequence[str] = ()
) -> Config:
    """Read a YAML config (or the defaults when ``path`` is None) and apply overrides.

    Parameters
    ----------
    path : path-like, optional
        A YAML file; ``None`` uses the built-in defaults (S&P 500 direction, XGBoost).
    overrides : sequence of str
        ``section.key=value`` items applied on top, as given by ``mltrainer train --set``.
    """
    raw: Mapping[str, Any] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise NotFoundError(f"config file '{file}' not found; pass an existing YAML file")
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"config file '{file}'{where}: invalid YAML ({exc})") from None
        if loaded is not None and not isinstance(loaded, Mapping):
            raise ConfigError(f"config file '{file}': top level must be a mapping of sections")
        raw = loaded or {}
    if overrides:
        raw = apply_overrides(_with_free_form_defaults(raw, overrides), overrides)
    return config_from_dict(raw)


def config_to_yaml(config: Config) -> str:
    """The effective configuration as YAML (defaults filled in)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
