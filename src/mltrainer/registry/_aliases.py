"""``aliases.json``: named pointers to versions (``production`` -> 3) and their history."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mltrainer.exceptions import ConfigError
from mltrainer.registry._atomic import write_json_atomic

ALIASES = "aliases.json"
LOCK = ".aliases.lock"
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DIGITS = re.compile(r"[0-9]+")


def check_alias(alias: object) -> str:
    """Return ``alias`` if it is a valid alias name.

    Raises
    ------
    ConfigError
        If it is not a string matching ``[A-Za-z0-9][A-Za-z0-9._-]*``, is all digits
        (it would read as a version) or is ``"latest"``.
    """
    if (
        not isinstance(alias, str)
        or not _ALIAS.fullmatch(alias)
        or _DIGITS.fullmatch(alias)
        or alias == "latest"
    ):
        raise ConfigError(
            f"invalid alias {alias!r}: use letters, digits, '.', '_' or '-', not all digits "
            "and not 'latest' (those name versions), e.g. 'production'"
        )
    return alias


def read_aliases(model_dir: Path) -> dict[str, Any]:
    """Read a model's alias book ``{"aliases": {alias: version}, "history": {alias: [...]}}``.

    Parameters
    ----------
    model_dir : Path
        ``<root>/<name>``.

    Returns
    -------
    dict
        Empty mappings when the model has no aliases yet.

    Raises
    ------
    ConfigError
        If ``aliases.json`` is not the JSON the registry writes.
    """
    path = model_dir / ALIASES
    try:
        book = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {"aliases": {}, "history": {}}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid JSON ({exc}); restore it or delete it to drop the aliases"
        ) from exc
    aliases = book.get("aliases") if isinstance(book, dict) else None
    history = book.get("history", {}) if isinstance(book, dict) else None
    if not isinstance(aliases, dict) or not isinstance(history, dict):
        raise ConfigError(f"{path} lacks the 'aliases'/'history' mappings; restore it or delete it")
    return {
        "aliases": {str(k): int(v) for k, v in aliases.items()},
        "history": {str(k): [int(v) for v in vs] for k, vs in history.items()},
    }


def write_aliases(model_dir: Path, book: dict[str, Any]) -> None:
    """Atomically replace ``aliases.json`` (temp file, fsync, ``os.replace``).

    Parameters
    ----------
    model_dir : Path
        ``<root>/<name>``.
    book : dict
        ``{"aliases": {...}, "history": {...}}``.
    """
    write_json_atomic(model_dir / ALIASES, book)
