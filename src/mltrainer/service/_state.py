"""What one app holds: its store, its registry, a small cache of loaded versions."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from mltrainer.exceptions import ConfigError, NotFoundError, did_you_mean
from mltrainer.models import final_estimator, model_type_of
from mltrainer.registry import LoadedModel, ModelRegistry
from mltrainer.service._settings import ServiceSettings
from mltrainer.store import Store, valid_name

__all__ = ["ServiceState"]

_DIGITS = re.compile(r"[0-9]{1,9}")


def _serving_threads(model: LoadedModel, threads: int) -> None:
    """Predict with `threads` threads per request (in memory; the registry is untouched).

    A request predicts a few rows: the library's threads (all cores by default) only
    contend with the server's other requests. The catalogue names each type's parameter.
    """
    for member in model.members.values():
        final = final_estimator(member)
        entry = model_type_of(final)
        if entry is not None and entry.thread_param and hasattr(final, "set_params"):
            final.set_params(**{entry.thread_param: threads})


@dataclass
class ServiceState:
    """The store, the registry and the settings of one app (no module-level state).

    Every name a request carries is checked here against the registry before it reaches a
    store key or a path: an unknown model, version or alias is a ``NotFoundError`` (404),
    a malformed one a ``ConfigError`` (422), so no request can name a file of its own.
    """

    store: Store
    registry: ModelRegistry
    settings: ServiceSettings
    _models: OrderedDict[tuple[str, int], LoadedModel] = field(default_factory=OrderedDict)
    _classes: dict[tuple[str, int], list[Any] | None] = field(default_factory=dict)
    _memo: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def memo(self, key: Hashable, build: Callable[[], Any], *, size: int = 32) -> Any:
        """`build()` once per `key` (the newest `size` kept): opened storages, importances."""
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = build()
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > size:
                self._memo.popitem(last=False)
        return value

    # -- names ----------------------------------------------------------------------------
    def model_name(self, name: str) -> str:
        """`name` when the registry has a model of that name, else ``NotFoundError``."""
        try:
            valid_name(name)
        except ConfigError:
            raise NotFoundError(
                f"no model named {name[:80]!r}: model names are letters, digits, '.', '_' or '-'"
            ) from None
        models = self.registry.list_models()
        if name not in models:
            raise NotFoundError(
                f"no model named {name!r} in the registry{did_you_mean(name, models)}; "
                f"models: {', '.join(models) or 'none yet (run mltrainer train)'}"
            )
        return name

    def version(self, name: str, version: str | int | None) -> int:
        """The version number that `version` (number, alias, ``latest``, None) names."""
        self.model_name(name)
        if version is None or version == "":
            version = "latest"
        if isinstance(version, str) and _DIGITS.fullmatch(version):
            version = int(version)
        elif isinstance(version, str) and version != "latest":
            try:
                valid_name(version, what="alias")
            except ConfigError:
                raise NotFoundError(f"model {name!r} has no alias {version[:80]!r}") from None
        return self.registry.resolve(name, version)

    # -- models ---------------------------------------------------------------------------
    def load(self, name: str, version: str | int | None) -> LoadedModel:
        """The loaded version (checksums verified once, then kept: versions never change)."""
        number = self.version(name, version)
        key = (name, number)
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
                return model
        model = self.registry.load(name, number)
        _serving_threads(model, self.settings.model_threads)
        with self._lock:
            self._models[key] = model
            while len(self._models) > self.settings.model_cache:
                self._models.popitem(last=False)
        return model

    def classes(self, model: LoadedModel) -> list[Any] | None:
        """The label values of a classifier's classes (None for a regressor), read once."""
        key = (model.name, model.version)
        with self._lock:
            if key in self._classes:
                return self._classes[key]
        classes = (model.metadata.get("label") or {}).get("classes") or None
        with self._lock:
            self._classes[key] = classes
        return classes

    def metadata(self, name: str, version: str | int | None) -> dict[str, Any]:
        """A version's metadata (its checksum verified), without loading the model."""
        number = self.version(name, version)
        with self._lock:
            cached = self._models.get((name, number))
        return cached.metadata if cached is not None else self.registry.metadata(name, number)
