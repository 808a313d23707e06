"""A composite as one version: each member in its native format plus ``spec.json``.

Files: ``member-<name>.json`` / ``.txt`` / ``.skops`` (written by the member's own format)
and ``spec.json``::

    {"schema": 1, "kind": "averaging",
     "class": "mltrainer.models._composite.AveragingComposite",
     "members": [{"name": "xgb", "format": "xgboost", "feature_names": [...],
                  "options": {"files": ["member-xgb.json"], ...}}, ...],
     "params": {...}}          # the class's composite_spec(): weights, gating, ...

Loading rebuilds only the classes of :data:`mltrainer.models.COMPOSITES`, by exact kind and
qualified name, from member files that the manifest covers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from mltrainer.exceptions import ChecksumError, ConfigError
from mltrainer.models import COMPOSITES, Composite, check_member_name
from mltrainer.registry._atomic import dump_json
from mltrainer.registry._metadata import to_jsonable
from mltrainer.registry._protocol import ModelFormat, check_file_names, qualified

SPEC = "spec.json"
SPEC_SCHEMA = 1


def _class_name(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _allowed() -> str:
    return ", ".join(f"{kind!r} ({_class_name(cls)})" for kind, cls in COMPOSITES.items())


def composite_kind(model: Any) -> str:
    """The ``composite_kind`` of ``model`` when its exact class is allowed.

    Raises
    ------
    ConfigError
        If the class (not a subclass, not a look-alike) is not in ``COMPOSITES``.
    """
    kind = getattr(type(model), "composite_kind", None)
    if not isinstance(kind, str) or COMPOSITES.get(kind) is not type(model):
        raise ConfigError(
            f"composite {qualified(model)} is not one the registry can load back; "
            f"allowed are {_allowed()} (add the class to mltrainer.models.COMPOSITES)"
        )
    return kind


class CompositeFormat:
    """Several members, each saved by its own format, and the combiner's JSON spec.

    Parameters
    ----------
    member_formats : sequence of ModelFormat
        The formats members may use (not this one: composites do not nest yet).
    """

    name: ClassVar[str] = "composite"

    def __init__(self, member_formats: Sequence[ModelFormat]) -> None:
        self._formats = tuple(member_formats)

    def accepts(self, model: Any) -> bool:
        """Return whether ``model`` implements the :class:`~mltrainer.models.Composite` protocol."""
        return isinstance(model, Composite)

    def _member_format(self, member: Any, name: str) -> ModelFormat:
        if isinstance(member, Composite):
            raise ConfigError(
                f"composite member {name!r} is itself a composite ({qualified(member)}); "
                "composites do not nest yet: combine its members into one composite"
            )
        for fmt in self._formats:
            if fmt.accepts(member):
                return fmt
        raise ConfigError(
            f"composite member {name!r} of type {qualified(member)} has no format: members "
            f"must be one of {[fmt.name for fmt in self._formats]} models"
        )

    def _named(self, name: object, member: str) -> ModelFormat:
        for fmt in self._formats:
            if fmt.name == name:
                return fmt
        raise ConfigError(
            f"spec.json gives member {member!r} format {name!r}; member formats are "
            f"{[fmt.name for fmt in self._formats]}"
        )

    def save(self, model: Any, directory: Path, *, stem: str = "model") -> dict[str, Any]:
        """Write every member with its own format, then ``spec.json``.

        Raises
        ------
        ConfigError
            For a class not in ``COMPOSITES``, an unfitted composite, an invalid or nested
            member, or a spec that has no JSON form.
        """
        from sklearn.exceptions import NotFittedError

        kind = composite_kind(model)
        if stem != "model":
            raise ConfigError("a composite is saved as a whole version, not as a member")
        try:
            members = model.composite_members()
            features = model.composite_features()
            params = to_jsonable(model.composite_spec(), where=f"{kind} composite_spec()")
        except NotFittedError as exc:
            raise ConfigError(
                f"composite {qualified(model)} is not fitted; call fit() before saving it"
            ) from exc
        if not members or list(features) != list(members):
            raise ConfigError(
                f"composite {qualified(model)} must name the columns of each of its members "
                f"{list(members)} in composite_features(), got {list(features)}"
            )
        entries: list[dict[str, Any]] = []
        files = [SPEC]
        for name, member in members.items():
            check_member_name(name)
            fmt = self._member_format(member, name)
            options = fmt.save(member, directory, stem=f"member-{name}")
            files.extend(options["files"])
            columns = features[name]
            entries.append(
                {
                    "name": name,
                    "format": fmt.name,
                    "feature_names": None if columns is None else list(columns),
                    "options": options,
                }
            )
        spec = {
            "schema": SPEC_SCHEMA,
            "kind": kind,
            "class": _class_name(type(model)),
            "members": entries,
            "params": params,
        }
        (directory / SPEC).write_bytes(dump_json(spec))
        return {
            "files": files,
            "kind": kind,
            "members": {entry["name"]: entry["format"] for entry in entries},
        }

    def load(self, files: Mapping[str, bytes], options: Mapping[str, Any]) -> Any:
        """Rebuild the composite from ``spec.json`` and its members' verified files.

        Raises
        ------
        ChecksumError
            If the spec is missing or names a file outside the version folder or not in
            the manifest.
        ConfigError
            If the spec names a kind or class that is not exactly allowed, or does not
            describe the members it lists.
        """
        if SPEC not in files:
            raise ChecksumError(f"a composite version needs {SPEC}, which MANIFEST.json lacks")
        try:
            spec = json.loads(files[SPEC])
        except (ValueError, UnicodeDecodeError) as exc:
            raise ChecksumError(f"{SPEC} is not valid JSON ({exc}); re-save the model") from exc
        if not isinstance(spec, dict) or spec.get("schema") != SPEC_SCHEMA:
            raise ConfigError(
                f"{SPEC} has schema {spec.get('schema') if isinstance(spec, dict) else None!r}"
                f", this mltrainer reads {SPEC_SCHEMA}: upgrade mltrainer or re-save the model"
            )
        kind, class_name = spec.get("kind"), spec.get("class")
        cls = COMPOSITES.get(kind) if isinstance(kind, str) else None
        if cls is None or _class_name(cls) != class_name:
            raise ConfigError(
                f"refusing to load composite kind {kind!r} class {class_name!r}: "
                f"not on the allow-list {_allowed()}"
            )
        entries = spec.get("members")
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{SPEC} lists no members; re-save the model")
        members: dict[str, Any] = {}
        columns: dict[str, Any] = {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("options"), dict):
                raise ConfigError(f"{SPEC} has a malformed member entry {entry!r:.80}")
            name = check_member_name(entry.get("name"))
            if name in members:
                raise ConfigError(f"{SPEC} lists member {name!r} twice")
            fmt = self._named(entry.get("format"), name)
            member_options = entry["options"]
            names = check_file_names(
                member_options.get("files"), files, where=f"{SPEC} member {name!r}"
            )
            members[name] = fmt.load({n: files[n] for n in names}, member_options)
            columns[name] = entry.get("feature_names")
        params = spec.get("params")
        if not isinstance(params, dict):
            raise ConfigError(f"{SPEC} has no 'params' mapping; re-save the model")
        model = cls.from_composite(params, members)
        rebuilt = model.composite_features()
        if {name: rebuilt[name] for name in members} != columns:
            raise ConfigError(
                f"{SPEC} lists member columns that differ from its params; re-save the model"
            )
        return model
