"""The model format protocol: save a model as files, rebuild it from their verified bytes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

from mltrainer.exceptions import ChecksumError, ConfigError


class ModelFormat(Protocol):
    """How one kind of model is written to, and read back from, a version directory.

    ``save`` writes one or more files named from ``stem`` (``model.json``; a composite's
    members use stems such as ``member-xgb``) and returns JSON options whose ``"files"``
    lists every file it wrote; the registry records the options in ``MANIFEST.json`` and
    hands them back to ``load`` with the bytes of exactly those files, already checked
    against their SHA-256.
    """

    name: ClassVar[str]

    def accepts(self, model: Any) -> bool:
        """Return whether this format can store ``model``."""
        ...

    def save(self, model: Any, directory: Path, *, stem: str = "model") -> dict[str, Any]:
        """Write ``model`` under ``directory``; return JSON options including ``"files"``."""
        ...

    def load(self, files: Mapping[str, bytes], options: Mapping[str, Any]) -> Any:
        """Rebuild the model from the verified bytes of its files and the saved options."""
        ...


def qualified(model: Any) -> str:
    """``module.QualName`` of ``model``'s type."""
    return f"{type(model).__module__}.{type(model).__qualname__}"


def from_library(model: Any, library: str) -> bool:
    """True when a class in ``model``'s MRO comes from ``library`` (no import needed)."""
    return any(
        cls.__module__ == library or cls.__module__.startswith(f"{library}.")
        for cls in type(model).__mro__
    )


def not_fitted(model: Any) -> ConfigError:
    """The error for saving a model before ``fit``."""
    return ConfigError(f"model {qualified(model)} is not fitted; call fit() before saving it")


def check_file_names(names: object, available: Mapping[str, bytes], *, where: str) -> list[str]:
    """Return ``names`` if it is a list of plain file names, each one of ``available``.

    Parameters
    ----------
    names : object
        What a manifest or spec lists as the files of a model.
    available : mapping of str to bytes
        The verified files that may be named.
    where : str
        What lists them (for the message), e.g. ``"spec.json member 'xgb'"``.

    Raises
    ------
    ChecksumError
        If ``names`` is not a non-empty list of strings, or one is absolute, holds a path
        separator or ``..``, or is not among ``available`` (not covered by the manifest).
    """
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ChecksumError(f"{where} must list its files by name, got {names!r:.80}")
    for name in names:
        if name in {"", ".", ".."} or "/" in name or "\\" in name or Path(name).name != name:
            raise ChecksumError(
                f"{where} names file {name!r}, which is outside the version folder: refused "
                "(the folder was tampered with); restore it or re-save the model"
            )
        if name not in available:
            raise ChecksumError(
                f"{where} names file {name!r}, which MANIFEST.json does not cover; "
                "restore the version or re-save the model"
            )
    return list(names)


def single_file(files: Mapping[str, bytes], options: Mapping[str, Any], *, fmt: str) -> bytes:
    """The bytes of the one file a single-file format wrote.

    Raises
    ------
    ChecksumError
        If the options list other than exactly one verified file.
    """
    names = check_file_names(options.get("files"), files, where=f"the {fmt} model's options")
    if len(names) != 1:
        raise ChecksumError(f"a {fmt} model is one file, but its options list {names}")
    return files[names[0]]
