"""Storage for best params, tuning history, metric series, alerts and explanations.

One narrow interface (:class:`Store`: JSON values, time series, bounded lists) and two real
backends chosen by URL with :func:`open_store`: SQLite (embedded default, zero set-up) and
Redis (shared, production). Domain features are written once above these primitives.
"""

from ._open import DEFAULT_URL, open_store
from ._protocol import Store, TimeLike
from ._redis import RedisStore
from ._sqlite import SQLiteStore

__all__ = ["DEFAULT_URL", "RedisStore", "SQLiteStore", "Store", "TimeLike", "open_store"]
