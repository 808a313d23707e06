"""Append-only streams: entry ids and the checks both backends share.

An entry id is ``"<ms>-<seq>"``, exactly a Redis stream id: ``ms`` is the UTC epoch
millisecond at which the entry was added and ``seq`` orders entries added in the same
millisecond. Ids only grow within a stream (also after retention removed every entry), so
an id names one entry forever and "entries after id X" is a well-defined question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mltrainer.exceptions import ConfigError

from ._checks import check_count, check_name
from ._codec import encode
from ._timestamps import from_epoch, to_epoch

if TYPE_CHECKING:
    from ._protocol import TimeLike

__all__ = [
    "StreamAdd",
    "check_entry_id",
    "entry_time",
    "ms_bounds",
    "next_id",
    "stream_add_op",
]

_ENTRY_ID = re.compile(r"(\d{1,19})-(\d{1,19})")


def check_entry_id(value: Any) -> tuple[int, int]:
    """The ``(ms, seq)`` of a stream entry id such as ``"1735689600000-0"``.

    Raises
    ------
    ConfigError
        If `value` is not of the form ``<digits>-<digits>``.
    """
    match = _ENTRY_ID.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"entry id {value!r} is invalid; stream entry ids look like '1735689600000-0' "
            "(milliseconds, a dash, a sequence number)"
        )
    return int(match.group(1)), int(match.group(2))


def entry_time(entry_id: str) -> datetime:
    """The UTC time an entry was added, read from its id."""
    ms, _ = check_entry_id(entry_id)
    return from_epoch(ms / 1000.0)


def next_id(last: tuple[int, int] | None, now_ms: int) -> tuple[int, int]:
    """The id after `last` at the clock's `now_ms` (the clock may go back: ids never do)."""
    if last is None or now_ms > last[0]:
        return now_ms, 0
    return last[0], last[1] + 1


def ms_bounds(start: TimeLike | None, end: TimeLike | None) -> tuple[int | None, int | None]:
    """Inclusive millisecond bounds of the times ``start <= t <= end`` (None: unbounded)."""
    lo = None if start is None else math.ceil(round(to_epoch(start, name="start") * 1000, 3))
    hi = None if end is None else math.floor(round(to_epoch(end, name="end") * 1000, 3))
    return lo, hi


class StreamAdd:
    """A validated request to add entries: JSON payloads and the retention to apply.

    Parameters
    ----------
    stream : str
        The stream's name.
    payloads : list of str
        The entries' JSON, in order.
    max_len : int or None
        Keep at most this many newest entries after adding.
    min_ms : int or None
        Remove entries added before this epoch millisecond.
    """

    def __init__(
        self, stream: str, payloads: list[str], max_len: int | None, min_ms: int | None
    ) -> None:
        self.stream = stream
        self.payloads = payloads
        self.max_len = max_len
        self.min_ms = min_ms


def stream_add_op(
    stream: str,
    values: Sequence[Any],
    *,
    max_len: int | None,
    min_time: TimeLike | None,
) -> StreamAdd:
    """Validate and JSON-encode a ``stream_add`` call before any I/O."""
    check_name(stream, name="stream")
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, Sequence):
        raise ConfigError(
            f"values for stream {stream!r} must be a list of JSON values (one per entry), "
            f"got {type(values).__name__}"
        )
    payloads = [encode(stream, value) for value in values]
    keep = None if max_len is None else check_count(max_len, name="max_len", minimum=1)
    min_ms = None
    if min_time is not None:
        min_ms = math.ceil(round(to_epoch(min_time, name="min_time") * 1000, 3))
    return StreamAdd(stream, payloads, keep, min_ms)
