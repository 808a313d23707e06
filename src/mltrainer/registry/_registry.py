"""The model registry: versioned, checksummed model directories with aliases."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mltrainer.exceptions import (
    ChecksumError,
    ConfigError,
    NotFoundError,
    StoreError,
    did_you_mean,
)
from mltrainer.registry._aliases import LOCK, check_alias, read_aliases, write_aliases
from mltrainer.registry._atomic import file_lock
from mltrainer.registry._formats import LEGACY_FILES, format_for, format_named
from mltrainer.registry._loaded import LoadedModel
from mltrainer.registry._manifest import METADATA, model_files, verify
from mltrainer.registry._save import (
    base_metadata,
    check_extra_files,
    check_feature_names,
    existing_versions,
    write_version,
)
from mltrainer.store import name_fault

logger = logging.getLogger("mltrainer")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class ModelVersion:
    """One saved version: its model name, number and directory."""

    name: str
    version: int
    path: Path


class ModelRegistry:
    """Versioned model artifacts under ``<root>/<name>/<version>/``.

    Each version directory holds the model's files in their libraries' safe formats
    (``model.json`` for XGBoost, ``model.txt`` for LightGBM, ``model.skops`` for
    scikit-learn; for a composite, ``spec.json`` plus ``member-<name>.json`` / ``.txt`` /
    ``.skops``), ``metadata.json`` and ``MANIFEST.json`` (the format, its options and the
    SHA-256 of every other file). Versions are written atomically and never change; a
    version may name its ``parent`` (lineage of retrains and online updates);
    ``<root>/<name>/aliases.json`` maps aliases such as ``production`` to versions.

    Parameters
    ----------
    root : str or PathLike, default "models"
        Directory holding one sub-directory per model name; created on first save.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from sklearn.linear_model import Ridge
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> model = Ridge().fit(X, [0.0, 1.0, 2.0, 3.0])
    >>> registry = ModelRegistry(tempfile.mkdtemp())
    >>> saved = registry.save("spy", model, feature_names=list(X.columns))
    >>> registry.promote("spy", saved.version)
    1
    >>> registry.load("spy", "production").predict(X).shape
    (4,)
    """

    def __init__(self, root: str | os.PathLike[str] = "models") -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ModelRegistry(root={str(self.root)!r})"

    # -- names and versions -------------------------------------------------------------

    def _model_dir(self, name: str) -> Path:
        fault = name_fault(name)
        if fault is not None:
            raise ConfigError(f"invalid model name {name!r}: {fault}")
        return self.root / name

    def _existing_model_dir(self, name: str) -> Path:
        model_dir = self._model_dir(name)
        if not existing_versions(model_dir):
            models = self.list_models()
            raise NotFoundError(
                f"no model named {name!r} in {self.root}{did_you_mean(name, models)}; "
                f"models: {models or 'none saved yet'}"
            )
        return model_dir

    def list_models(self) -> list[str]:
        """Return the sorted names of models with at least one version."""
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if _NAME.fullmatch(entry.name) and existing_versions(entry)
        )

    def resolve(self, name: str, version: int | str = "latest") -> int:
        """Return the version number that ``version`` names.

        Parameters
        ----------
        name : str
            Model name.
        version : int or str, default "latest"
            ``"latest"``, a version number (int or digit string) or an alias.

        Raises
        ------
        NotFoundError
            If the model, version or alias does not exist (listing those that do).
        """
        model_dir = self._existing_model_dir(name)
        versions = existing_versions(model_dir)
        if isinstance(version, (bool, np.bool_)) or not isinstance(version, (int, np.integer, str)):
            raise ConfigError(
                f"version must be 'latest', a version number or an alias, got {version!r}"
            )
        if isinstance(version, str) and version == "latest":
            return versions[-1]
        if isinstance(version, str) and not _DIGITS.fullmatch(version):
            aliases = read_aliases(model_dir)["aliases"]
            if version in aliases:
                number = aliases[version]
                if number not in versions:
                    raise NotFoundError(
                        f"alias {version!r} of model {name!r} points to version {number}, "
                        f"which no longer exists (versions: {versions}); set_alias it again"
                    )
                return number
            raise NotFoundError(
                f"model {name!r} has no alias {version!r}{did_you_mean(version, aliases)}; "
                f"aliases: {aliases or 'none'}, versions: {versions} or 'latest'"
            )
        number = int(version)
        if number not in versions:
            raise NotFoundError(
                f"model {name!r} has no version {number}; versions: {versions} or 'latest'"
            )
        return number

    # -- save and load ------------------------------------------------------------------

    def save(
        self,
        name: str,
        model: Any,
        *,
        feature_names: Sequence[str],
        metadata: Mapping[str, Any] | None = None,
        extra_files: Mapping[str, bytes] | None = None,
        parent: int | None = None,
    ) -> ModelVersion:
        """Save a fitted model as the next version of ``name``.

        Parameters
        ----------
        name : str
            Model name, ``[A-Za-z0-9][A-Za-z0-9._-]*``.
        model : Any
            A fitted XGBoost or LightGBM scikit-learn wrapper, a scikit-learn estimator or
            pipeline of trusted types, or a composite of those (a class of
            :data:`mltrainer.models.COMPOSITES`, e.g. ``AveragingComposite``).
        feature_names : sequence of str
            The training columns, in order; ``predict`` will require exactly these (for
            a composite: every column any member reads, each member picking its own).
        metadata : mapping, optional
            JSON-like caller metadata (params, scores, data fingerprint, ...). NumPy
            values, Series and timestamps are converted; NaN and inf are written as null.
            The registry adds ``name``, ``version``, ``created_at`` (UTC ISO-8601),
            ``feature_names``, ``format``, ``versions`` (python and libraries) and
            ``git_commit`` (None outside a git checkout).
        extra_files : mapping of str to bytes, optional
            Further files of this version, e.g. ``{"profile.json": ...}`` (the monitoring
            reference profile): plain file names other than the model, ``metadata.json``
            and ``MANIFEST.json``, written atomically with the version and checksummed in
            its manifest. Read them back with :meth:`LoadedModel.read_file`.
        parent : int, optional
            The existing version of ``name`` this one was derived from (an online update,
            continued boosting, a retrain); recorded as ``metadata["parent"]`` and walked
            by :meth:`lineage`.

        Returns
        -------
        ModelVersion

        Raises
        ------
        ConfigError
            For an invalid name, an unsupported, unfitted or inconsistent model, feature
            names that disagree with the model, or metadata that cannot be JSON.
        NotFoundError
            If ``parent`` is not an existing version of ``name``.
        StoreError
            If the version cannot be written (the root is a file, read-only or full);
            nothing of it is left visible.
        """
        model_dir = self._model_dir(name)
        features = check_feature_names(feature_names, model)
        fmt = format_for(model)
        parent = self._check_parent(name, parent)
        meta = base_metadata(
            name, metadata, feature_names=features, format_name=fmt.name, parent=parent
        )
        extra = check_extra_files(extra_files)
        try:
            version = write_version(model_dir, model, fmt=fmt, metadata=meta, extra_files=extra)
        except OSError as exc:  # a root that is a file, read-only, full: one line, no trace
            raise StoreError(
                f"cannot save model {name!r} in registry root '{self.root}' "
                f"({exc.strerror or type(exc).__name__}: {exc.filename or model_dir}); "
                "make it a writable folder or choose another (registry.root, --root)"
            ) from None
        logger.info("saved model %r version %d (%s) in %s", name, version, fmt.name, model_dir)
        return ModelVersion(name=name, version=version, path=model_dir / str(version))

    def load(self, name: str, version: int | str = "latest") -> LoadedModel:
        """Verify every checksum of a version, then load it.

        Parameters
        ----------
        name : str
            Model name.
        version : int or str, default "latest"
            ``"latest"``, a version number or an alias such as ``"production"``.

        Returns
        -------
        LoadedModel

        Raises
        ------
        NotFoundError
            For an unknown model, version or alias.
        ChecksumError
            If a file was modified, removed or added since the version was written.
        ConfigError
            If a scikit-learn model holds types outside the allow-list.
        """
        number = self.resolve(name, version)
        path = self.root / name / str(number)
        manifest, contents = verify(path)
        fmt = format_named(manifest.get("format"))
        if METADATA not in contents:
            raise ChecksumError(f"MANIFEST.json of {path} does not list {METADATA!r}")
        files = model_files(manifest, path, legacy=LEGACY_FILES.get(fmt.name))
        metadata = json.loads(contents[METADATA])
        options = {**(manifest.get("format_options") or {}), "files": files}
        estimator = fmt.load({file: contents[file] for file in files}, options)
        logger.debug("loaded model %r version %d from %s", name, number, path)
        return LoadedModel(
            name=name,
            version=number,
            path=path,
            metadata=metadata,
            feature_names=metadata["feature_names"],
            estimator=estimator,
        )

    def metadata(self, name: str, version: int | str = "latest") -> dict[str, Any]:
        """Return a version's ``metadata.json`` (its checksum verified, the model not loaded)."""
        number = self.resolve(name, version)
        _, contents = verify(self.root / name / str(number), only=METADATA)
        result: dict[str, Any] = json.loads(contents[METADATA])
        return result

    def list_versions(self, name: str) -> list[dict[str, Any]]:
        """Summarise every version of ``name``, oldest first.

        Returns
        -------
        list of dict
            ``version``, ``created_at``, ``aliases`` (list of alias names), ``format``,
            ``score`` (``metadata["scores"]["mean"]``, None when absent), ``parent``, and
            ``ok`` / ``problem``: ``ok`` is False, and ``problem`` says why, when the
            version's ``metadata.json`` does not match its manifest (tampered, corrupted
            or missing); its other fields are then None. The model files themselves are
            verified by :meth:`load`.
        """
        model_dir = self._existing_model_dir(name)
        aliases = read_aliases(model_dir)["aliases"]
        rows: list[dict[str, Any]] = []
        for number in existing_versions(model_dir):
            meta: Any = {}
            problem: str | None = None
            try:
                _, contents = verify(model_dir / str(number), only=METADATA)
                meta = json.loads(contents[METADATA])
            except (ChecksumError, ConfigError) as exc:
                problem = str(exc)
            except ValueError as exc:
                problem = f"metadata.json is not valid JSON ({exc})"
            if not isinstance(meta, dict):
                meta, problem = {}, problem or "metadata.json is not a JSON object"
            scores = meta.get("scores")
            rows.append(
                {
                    "version": number,
                    "created_at": meta.get("created_at"),
                    "aliases": sorted(alias for alias, v in aliases.items() if v == number),
                    "format": meta.get("format"),
                    "score": scores.get("mean") if isinstance(scores, dict) else None,
                    "parent": meta.get("parent"),
                    "ok": problem is None,
                    "problem": problem,
                }
            )
        return rows

    # -- lineage ------------------------------------------------------------------------

    def _check_parent(self, name: str, parent: object) -> int | None:
        if parent is None:
            return None
        if isinstance(parent, (bool, np.bool_)) or not isinstance(parent, (int, np.integer)):
            raise ConfigError(
                f"parent must be a version number of {name!r} or None, got {parent!r}; "
                "pass e.g. parent=registry.resolve(name, 'production')"
            )
        versions = existing_versions(self._model_dir(name))
        if int(parent) not in versions:
            raise NotFoundError(
                f"parent version {int(parent)} of model {name!r} does not exist; "
                f"versions: {versions or 'none saved yet'}"
            )
        return int(parent)

    def lineage(self, name: str, version: int | str = "latest") -> list[int]:
        """The ancestors of a version, nearest first: its parent, the parent's parent, ...

        Parameters
        ----------
        name : str
            Model name.
        version : int or str, default "latest"
            ``"latest"``, a version number or an alias.

        Returns
        -------
        list of int
            Empty for a version saved without ``parent``. An ancestor whose folder was
            removed ends the chain (it is listed; its own parent is unknown).

        Raises
        ------
        NotFoundError
            For an unknown model, version or alias.
        ChecksumError
            If a ``metadata.json`` on the way does not match its manifest, or the recorded
            parents do not go strictly back in time (edited metadata).
        """
        number = self.resolve(name, version)
        versions = set(existing_versions(self.root / name))
        chain: list[int] = []
        current = number
        while current in versions:
            parent = self.metadata(name, current).get("parent")
            if parent is None:
                break
            if not isinstance(parent, int) or isinstance(parent, bool) or parent >= current:
                raise ChecksumError(
                    f"version {current} of {name!r} records parent {parent!r}, which is not "
                    "an earlier version; its metadata.json was edited: restore it"
                )
            chain.append(parent)
            current = parent
        return chain

    # -- aliases ------------------------------------------------------------------------

    def aliases(self, name: str) -> dict[str, int]:
        """Return ``{alias: version}`` for ``name``."""
        return dict(read_aliases(self._existing_model_dir(name))["aliases"])

    def set_alias(self, name: str, alias: str, version: int | str) -> int:
        """Point ``alias`` at ``version`` (recorded in the alias history); return the version."""
        check_alias(alias)
        model_dir = self._existing_model_dir(name)
        with file_lock(model_dir / LOCK):
            number = self.resolve(name, version)
            book = read_aliases(model_dir)
            book["aliases"][alias] = number
            history = book["history"].setdefault(alias, [])
            if not history or history[-1] != number:
                history.append(number)
            write_aliases(model_dir, book)
        logger.info("model %r alias %r -> version %d", name, alias, number)
        return number

    def promote(self, name: str, version: int | str, alias: str = "production") -> int:
        """Point ``alias`` (default ``production``) at ``version``; return the version number."""
        return self.set_alias(name, alias, version)

    def rollback(self, name: str, alias: str = "production") -> int:
        """Point ``alias`` back at the version it named before; return that version.

        Raises
        ------
        NotFoundError
            If the alias does not exist or has no earlier (still existing) version.
        """
        check_alias(alias)
        model_dir = self._existing_model_dir(name)
        with file_lock(model_dir / LOCK):
            book = read_aliases(model_dir)
            if alias not in book["aliases"]:
                raise NotFoundError(
                    f"model {name!r} has no alias {alias!r}"
                    f"{did_you_mean(alias, book['aliases'])}; aliases: {book['aliases'] or 'none'}"
                )
            versions = set(existing_versions(model_dir))
            history = list(book["history"].get(alias, []))
            current = book["aliases"][alias]
            while history and history[-1] == current:
                history.pop()
            while history and history[-1] not in versions:
                history.pop()
            if not history:
                raise NotFoundError(
                    f"alias {alias!r} of model {name!r} has no earlier version to roll back "
                    f"to (history {book['history'].get(alias, [])}); promote a version instead"
                )
            book["aliases"][alias] = history[-1]
            book["history"][alias] = history
            write_aliases(model_dir, book)
        logger.info("model %r alias %r rolled back to version %d", name, alias, history[-1])
        return history[-1]


def load_model(
    name: str, version: int | str = "latest", *, root: str | os.PathLike[str] = "models"
) -> LoadedModel:
    """Load a model version from the registry at ``root`` (see :meth:`ModelRegistry.load`)."""
    return ModelRegistry(root).load(name, version)
