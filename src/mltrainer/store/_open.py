"""``open_store``: choose and open a backend from a URL."""

from __future__ import annotations

from mltrainer.exceptions import ConfigError, did_you_mean

from ._protocol import Store
from ._redis import RedisStore
from ._sqlite import SQLiteStore
from ._urls import REDIS_SCHEMES, SCHEMES, mask_password, scheme_of, sqlite_path

__all__ = ["DEFAULT_URL", "open_store"]

#: The zero set-up default: a SQLite file in the working directory.
DEFAULT_URL = "sqlite:///mltrainer.db"


def open_store(url: str | None = None, *, prefix: str = "mltrainer") -> Store:
    """Open the store at `url`.

    Parameters
    ----------
    url : str or None, default None
        ``sqlite:///relative/path.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:``,
        ``redis://[:password@]host:port/db``, ``rediss://...`` (TLS) or ``unix://...``.
        None opens :data:`DEFAULT_URL` (``sqlite:///mltrainer.db``).
    prefix : str, default "mltrainer"
        Namespace isolating this store's data from other tenants (and tests).

    Returns
    -------
    Store
        A ``SQLiteStore`` or a ``RedisStore``; use it as a context manager or ``close()`` it.

    Raises
    ------
    ConfigError
        The URL's scheme is not supported or the URL is malformed.
    StoreError
        The database cannot be opened or the Redis server does not answer ``PING``.

    Examples
    --------
    >>> with open_store("sqlite:///:memory:") as store:
    ...     store.put("best_params", {"max_depth": 3})
    ...     store.get("best_params")
    {'max_depth': 3}
    """
    if url is None:
        url = DEFAULT_URL
    if not isinstance(url, str):
        raise ConfigError(f"url={url!r} is not a string; pass a store URL such as {DEFAULT_URL}")
    scheme = scheme_of(url)
    if scheme == "sqlite":
        return SQLiteStore(sqlite_path(url), prefix=prefix)
    if scheme in REDIS_SCHEMES:
        return RedisStore(url, prefix=prefix)
    raise ConfigError(
        f"Unsupported store URL {mask_password(url)!r}: scheme {scheme!r} is not one of "
        f"{', '.join(SCHEMES)}{did_you_mean(scheme, SCHEMES)}; use e.g. sqlite:///mltrainer.db "
        "or redis://host:6379/0"
    )
