"""The canonical bar schema and the mapping of source column names onto it.

A canonical frame is indexed by a UTC ``DatetimeIndex`` named ``timestamp`` and holds
``open, high, low, close, volume`` as float64, preceded by a ``symbol`` column (str) when it
is a panel of several instruments.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mltrainer._logging import logger
from mltrainer.exceptions import ConfigError, DataError, did_you_mean

__all__ = [
    "BAR_COLUMNS",
    "PRICE_COLUMNS",
    "SYMBOL",
    "TIMESTAMP",
    "canonicalise",
    "is_panel",
]

TIMESTAMP = "timestamp"
SYMBOL = "symbol"
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
BAR_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
#: Names accepted (case-insensitively) for the time column; ``timestamp`` wins over the others.
TIME_NAMES: tuple[str, ...] = (TIMESTAMP, "date", "datetime", "time")
_TARGETS: frozenset[str] = frozenset((TIMESTAMP, SYMBOL, *BAR_COLUMNS))
_KNOWN: frozenset[str] = _TARGETS | frozenset(TIME_NAMES)


def is_panel(bars: pd.DataFrame) -> bool:
    """Return whether ``bars`` is a multi-symbol panel (it has a ``symbol`` column).

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars as returned by :func:`load_bars` or :func:`validate_bars`.

    Returns
    -------
    bool
        ``True`` when the frame has a ``symbol`` column.
    """
    return SYMBOL in bars.columns


def _resolve_mapping(names: list[str], columns: Mapping[str, str], source: str) -> dict[str, str]:
    """Match the keys of ``columns`` to source names: exactly, else case-insensitively."""
    lower: dict[str, list[str]] = {}
    for name in names:
        lower.setdefault(name.lower(), []).append(name)
    resolved: dict[str, str] = {}
    unknown: list[str] = []
    for key, target in columns.items():
        if not isinstance(target, str) or target not in _TARGETS:
            raise ConfigError(
                f"columns={{{key!r}: {target!r}}}: {target!r} is not a canonical column"
                f"{did_you_mean(str(target), sorted(_TARGETS))}; map to one of {sorted(_TARGETS)}"
            )
        matches = [key] if key in names else lower.get(str(key).lower(), [])
        if len(matches) != 1:
            unknown.append(str(key))
            continue
        resolved[matches[0]] = target
    if unknown:
        raise ConfigError(
            f"columns= key(s) {unknown} not found in {source}"
            f"{did_you_mean(unknown[0], names)}; its columns are {names}"
        )
    targets = list(resolved.values())
    clash = sorted({t for t in targets if targets.count(t) > 1})
    if clash:
        raise ConfigError(
            f"columns= maps several source columns onto {clash[0]!r}; map exactly one to it"
        )
    return resolved


def canonicalise(
    raw: pd.DataFrame, *, columns: Mapping[str, str] | None, source: str
) -> pd.DataFrame:
    """Rename source columns to canonical names and move the time column to the index.

    Explicitly mapped columns win: an unmapped source column whose lower-cased name equals
    a mapping target (``Close`` when ``{"Adj Close": "close"}`` is given) is dropped. Other
    columns keep their names and are dropped later by validation. Timestamps are left
    unparsed; :func:`validate_bars` parses them.

    Parameters
    ----------
    raw : pandas.DataFrame
        The frame as read from the source (not modified).
    columns : Mapping[str, str] or None
        Source name -> canonical name (``timestamp``, ``symbol``, ``open`` ... ``volume``).
    source : str
        Name of the source, used in error messages.

    Returns
    -------
    pandas.DataFrame
        A new frame whose index, named ``timestamp``, holds the raw time values.

    Raises
    ------
    ConfigError
        A key of ``columns`` is not a source column, or a value is not a canonical name.
    DataError
        No time column, or two source columns collide on one canonical name.
    """
    names = [str(c) for c in raw.columns]
    frame = raw.set_axis(names, axis="columns")
    mapping = _resolve_mapping(names, columns or {}, source)
    rename: dict[str, str] = dict(mapping)
    drop: list[str] = []
    claimed: dict[str, str] = {target: name for name, target in mapping.items()}
    for name in names:
        low = name.lower()
        if name in mapping or low not in _KNOWN:
            continue
        if low in claimed:
            if claimed[low] in mapping:
                logger.debug(
                    "%s: column %r dropped, columns= maps %r onto %r",
                    source,
                    name,
                    claimed[low],
                    low,
                )
                drop.append(name)
                continue
            raise DataError(
                f"{source}: columns {claimed[low]!r} and {name!r} both mean {low!r}; "
                f"drop one or pick one with columns={{{name!r}: {low!r}}}"
            )
        claimed[low] = name
        rename[name] = low
    frame = frame.drop(columns=drop).rename(columns=rename)

    times = [n for n in TIME_NAMES if n in frame.columns]
    if len(times) > 1 and TIMESTAMP in times:
        times = [TIMESTAMP]
    if len(times) > 1:
        raise DataError(
            f"{source}: several time columns {[claimed[t] for t in times]}; keep one or choose "
            f"it with columns={{{claimed[times[0]]!r}: 'timestamp'}}"
        )
    if times:
        index = pd.Index(frame[times[0]], name=TIMESTAMP)
        frame = frame.drop(columns=times)
    elif not isinstance(frame.index, pd.RangeIndex):
        index = frame.index.rename(TIMESTAMP)
    else:
        raise DataError(
            f"{source}: no time column among {names}; name it one of {list(TIME_NAMES)} or map "
            "it with columns={'When': 'timestamp'}"
        )
    return frame.set_axis(index, axis="index")
