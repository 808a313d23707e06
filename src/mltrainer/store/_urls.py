"""Store URLs: the supported schemes, SQLite paths and password masking."""

from __future__ import annotations

import re
from urllib.parse import unquote

from mltrainer.exceptions import ConfigError

__all__ = [
    "REDIS_SCHEMES",
    "SCHEMES",
    "mask_password",
    "passwords_in",
    "redact",
    "scheme_of",
    "sqlite_path",
]

REDIS_SCHEMES = ("redis", "rediss", "unix")
SCHEMES = ("sqlite", *REDIS_SCHEMES)

_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/]*)@")
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)([^&]*)")


def mask_password(url: str) -> str:
    """Return `url` with the password (or a lone user-info part) replaced by ``***``.

    ``redis://:secret@host:6379/0`` becomes ``redis://:***@host:6379/0`` and
    ``redis://user:secret@host`` becomes ``redis://user:***@host``; a ``password=`` query
    option is masked too. The result is safe to log and to put in error messages.
    """
    match = _USERINFO.match(url)
    if match:
        userinfo = match["userinfo"]
        masked = userinfo.split(":", 1)[0] + ":***" if ":" in userinfo else "***"
        url = f"{match['scheme']}{masked}@{url[match.end() :]}"
    return _QUERY_PASSWORD.sub(r"\1***", url)


def passwords_in(url: str) -> list[str]:
    """Return the non-empty password(s) written in `url` (user-info and query).

    A user-info part without ``:`` is a user name, not a password (``postgresql://u@h``).
    """
    found = [match[2] for match in _QUERY_PASSWORD.finditer(url)]
    match = _USERINFO.match(url)
    if match and ":" in match["userinfo"]:
        found.append(match["userinfo"].rpartition(":")[2])
    return [secret for secret in found if secret]


def redact(text: str, url: str) -> str:
    """``text`` (e.g. a driver's error message) with every password of ``url`` as ``***``.

    URLs inside the text are masked too; percent-encoded passwords are found in both forms.

    Examples
    --------
    >>> redact("auth failed for redis://:s3cret@h:6379/0 (s3cret)", "redis://:s3cret@h:6379/0")
    'auth failed for redis://:***@h:6379/0 (***)'
    """
    text = mask_password(text)
    for secret in passwords_in(url):
        for form in {secret, unquote(secret)}:
            text = text.replace(form, "***")
    return text


def scheme_of(url: str) -> str:
    """Return the lower-case scheme of `url` (``""`` when it has none)."""
    head, sep, _ = url.partition("://")
    return head.lower() if sep else ""


def sqlite_path(url: str) -> str:
    """Return the database path of a ``sqlite:///`` URL.

    ``sqlite:///relative/path.db`` gives ``relative/path.db``, ``sqlite:////abs/path.db``
    gives ``/abs/path.db`` and ``sqlite:///:memory:`` gives ``:memory:``.

    Raises
    ------
    ConfigError
        The URL has a host part or no path.
    """
    head = "sqlite:///"
    if url[: len(head)].lower() != head or len(url) == len(head):
        raise ConfigError(
            f"Invalid SQLite store URL {mask_password(url)!r}; use sqlite:///relative/path.db, "
            "sqlite:////absolute/path.db or sqlite:///:memory:"
        )
    return url[len(head) :]
