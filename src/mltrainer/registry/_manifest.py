"""``MANIFEST.json``: the SHA-256 of every file of a version, written last, checked first.

Schema 2 (this version)::

    {"schema": 2, "format": "composite",
     "format_options": {"files": ["spec.json", "member-xgb.json", ...], ...},
     "files": {"metadata.json": "<sha256>", "spec.json": "<sha256>", ...}}

``format_options["files"]`` lists the model's own files (the rest are ``metadata.json`` and
extra files such as ``profile.json``). Schema 1, written before a version could hold several
model files, has no such list: its one model file is ``model.json``, ``model.txt`` or
``model.skops`` by format, and it loads unchanged.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mltrainer.exceptions import ChecksumError, ConfigError
from mltrainer.registry._atomic import dump_json, write_file_synced
from mltrainer.registry._protocol import check_file_names

MANIFEST = "MANIFEST.json"
MANIFEST_SCHEMA = 2
METADATA = "metadata.json"


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def write_manifest(directory: Path, *, format_name: str, options: dict[str, Any]) -> None:
    """Write ``MANIFEST.json`` covering every other file in ``directory`` (fsynced).

    Parameters
    ----------
    directory : Path
        A version (temp) directory holding only flat files.
    format_name : str
        The model format (``xgboost``, ``lightgbm`` or ``skops``).
    options : dict
        JSON options the format needs to load the model back; ``options["files"]`` lists
        the model's files.

    Raises
    ------
    ConfigError
        If the options do not list the model's files among those written.
    """
    files = {
        entry.name: sha256(entry.read_bytes())
        for entry in sorted(directory.iterdir())
        if entry.name != MANIFEST
    }
    listed = options.get("files")
    if (
        not isinstance(listed, list)
        or not listed
        or any(name not in files or name in (METADATA, MANIFEST) for name in listed)
    ):
        raise ConfigError(
            f"format {format_name!r} reported files {listed!r} that it did not write "
            f"(written: {sorted(files)}); a format must list every model file it writes"
        )
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "format": format_name,
        "format_options": options,
        "files": files,
    }
    write_file_synced(directory / MANIFEST, dump_json(manifest))


def read_manifest(directory: Path) -> dict[str, Any]:
    """Read ``MANIFEST.json`` of a version directory.

    Raises
    ------
    ChecksumError
        If the manifest is missing or is not the JSON the registry writes.
    ConfigError
        If it was written by a newer mltrainer (a schema this one does not know).
    """
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise ChecksumError(
            f"{path} is missing, so {directory} cannot be verified; re-save the model"
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ChecksumError(f"{path} is not valid JSON ({exc}); re-save the model") from exc
    schema = manifest.get("schema", 1) if isinstance(manifest, dict) else None
    if isinstance(schema, int) and not isinstance(schema, bool) and schema > MANIFEST_SCHEMA:
        raise ConfigError(
            f"{path} has schema {schema}; this mltrainer reads up to {MANIFEST_SCHEMA}: "
            "upgrade mltrainer to load this model"
        )
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ChecksumError(f"{path} has no 'files' mapping of name to SHA-256; re-save the model")
    unsafe = [name for name in files if name in {"", ".", ".."} or Path(name).name != name]
    if unsafe:
        raise ChecksumError(f"{path} lists file names {unsafe} outside its directory; re-save")
    return manifest


def verify(directory: Path, *, only: str | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Check every file of ``directory`` against its manifest and return the verified bytes.

    Parameters
    ----------
    directory : Path
        A version directory.
    only : str, optional
        Verify (and return) this one file only, e.g. ``"metadata.json"``.

    Returns
    -------
    manifest : dict
        The parsed manifest.
    contents : dict of str to bytes
        The bytes of each verified file; deserialise these, not the files, so that what
        is loaded is exactly what was hashed.

    Raises
    ------
    ChecksumError
        If a file's hash differs from the manifest (naming the file, expected and actual
        hash), a listed file is missing, or an unlisted file was added.
    """
    manifest = read_manifest(directory)
    expected: dict[str, str] = manifest["files"]
    if only is None:
        present = {entry.name for entry in directory.iterdir()} - {MANIFEST}
        added = sorted(present - set(expected))
        if added:
            raise ChecksumError(
                f"{directory} holds file(s) {added} that MANIFEST.json does not list; "
                "remove them or re-save the model"
            )
        names = sorted(expected)
    else:
        names = [only]
    contents: dict[str, bytes] = {}
    for name in names:
        path = directory / name
        if name not in expected:
            raise ChecksumError(f"MANIFEST.json of {directory} does not list {name!r}")
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise ChecksumError(
                f"{path} is listed in MANIFEST.json but missing; restore it or re-save the model"
            ) from exc
        actual = sha256(data)
        if actual != expected[name]:
            raise ChecksumError(
                f"{path} has SHA-256 {actual} but MANIFEST.json expects {expected[name]}: "
                "the file was modified or corrupted; restore it or re-save the model"
            )
        contents[name] = data
    return manifest, contents


def model_files(manifest: dict[str, Any], directory: Path, *, legacy: str | None) -> list[str]:
    """The names of a version's model files, as its (verified) manifest records them.

    Parameters
    ----------
    manifest : dict
        From :func:`read_manifest` / :func:`verify`.
    directory : Path
        The version directory (for messages).
    legacy : str, optional
        The one model file of a schema-1 manifest (which lists no model files).

    Raises
    ------
    ChecksumError
        If a listed name is outside the directory, not covered by the manifest, or is
        ``metadata.json`` / ``MANIFEST.json``.
    """
    options = manifest.get("format_options")
    if not isinstance(options, dict):
        options = {}
    listed = options.get("files")
    if listed is None and manifest.get("schema", 1) == 1 and legacy is not None:
        listed = [legacy]
    covered = {name: b"" for name in manifest["files"] if name not in (METADATA, MANIFEST)}
    return check_file_names(listed, covered, where=f"MANIFEST.json of {directory}")
