"""The purge and embargo rules for one test set: a pure function over a :class:`Timeline`.

For a test block (maximal run of test rows adjacent in time order) with first decision
time ``a``, last decision time ``b`` and latest label end ``M``:

- a row before the block overlaps it iff its label reaches ``a`` (``t1_i >= a``);
  those rows all lie at or after ``searchsorted(cummax(t1), a)``, so only that window
  is inspected;
- a row after the block overlaps it iff ``t0_i <= M``: a contiguous run of rows;
- the embargo is the run of rows with ``t0`` in ``(M, M + embargo]``, found with one
  ``searchsorted``.

One boolean mask per split, a handful of slices, one ``flatnonzero``: O(n) per split
with no loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mltrainer.cv._times import Timeline

__all__ = ["SplitInfo", "block_indices", "merge_blocks", "purge_split"]


@dataclass(frozen=True)
class SplitInfo:
    """One split with its bookkeeping.

    Attributes
    ----------
    train, test : ndarray of intp
        Row positions of the training and test sets (sorted).
    n_purged : int
        Candidate training rows removed because their label span overlaps a test label.
    n_embargoed : int
        Candidate training rows removed by the embargo only (not already purged).
    test_paths : ndarray of intp
        Backtest path of each test row (all zeros except for combinatorial splits).
    """

    train: np.ndarray
    test: np.ndarray
    n_purged: int
    n_embargoed: int
    test_paths: np.ndarray


def merge_blocks(
    blocks: Sequence[tuple[int, int]], maxima: Sequence[int]
) -> list[tuple[int, int, int]]:
    """Merge sorted touching row ranges into maximal blocks ``(start, stop, max t1)``."""
    merged: list[tuple[int, int, int]] = []
    for (start, stop), m in zip(blocks, maxima, strict=True):
        if stop <= start:
            continue
        if merged and start <= merged[-1][1]:
            prev = merged[-1]
            merged[-1] = (prev[0], max(stop, prev[1]), max(m, prev[2]))
        else:
            merged.append((start, stop, m))
    return merged


def block_indices(blocks: Sequence[tuple[int, int]]) -> np.ndarray:
    """Row positions covered by half-open row ranges, as one flat intp array."""
    if len(blocks) == 1:
        return np.arange(blocks[0][0], blocks[0][1], dtype=np.intp)
    return np.concatenate([np.arange(s, e, dtype=np.intp) for s, e in blocks])


def _embargo_end(timeline: Timeline, row: int, m: int, span: int, n_times: int) -> int:
    """First row after the embargo that follows a block whose labels end at ``m``."""
    if span:
        return int(np.searchsorted(timeline.t0, m + span, side="right"))
    first = int(np.searchsorted(timeline.times, m, side="right"))
    return int(timeline.starts[min(first + n_times, timeline.n_times)]) if n_times else row


def purge_split(
    timeline: Timeline,
    blocks: Sequence[tuple[int, int]],
    *,
    embargo: tuple[int, int] = (0, 0),
    lo: int = 0,
    hi: int | None = None,
    maxima: Sequence[int] | None = None,
) -> tuple[np.ndarray, int, int]:
    """Training rows for a test set: candidates minus test, purged and embargoed rows.

    Parameters
    ----------
    timeline : Timeline
        The rows' times.
    blocks : sequence of (start, stop)
        Half-open row ranges of the test set, sorted; each must start and stop on a
        distinct-time boundary. Touching ranges are merged into one block.
    embargo : (span, n_times)
        The embargo after each block, from :func:`resolve_embargo`.
    lo, hi : int
        Candidate training rows are ``lo <= i < hi`` (walk-forward windows); default all.
    maxima : sequence of int, optional
        ``max(t1)`` over each range of ``blocks``, when the caller already knows it.

    Returns
    -------
    train : ndarray of intp
        Sorted row positions of the training set.
    n_purged, n_embargoed : int
        Candidate rows removed by the purge rule, and by the embargo rule only.
    """
    hi = timeline.n_rows if hi is None else hi
    t0, t1 = timeline.t0, timeline.t1
    if maxima is None:
        maxima = [int(t1[start:stop].max()) if stop > start else 0 for start, stop in blocks]
    merged = merge_blocks(blocks, maxima)
    keep = np.ones(max(hi - lo, 0), dtype=bool)
    for start, stop, _ in merged:
        keep[max(start - lo, 0) : max(stop - lo, 0)] = False
    n_purged = 0
    block_ends: list[tuple[int, int]] = []
    for start, stop, m in merged:
        a = t0[start]
        first = max(int(np.searchsorted(timeline.t1_cummax, a, side="left")), lo)
        last = min(start, hi)
        if first < last:
            window = keep[first - lo : last - lo]
            before = int(np.count_nonzero(window))
            window &= t1[first:last] < a
            n_purged += before - int(np.count_nonzero(window))
        after = int(np.searchsorted(t0, m, side="right"))
        first, last = max(stop, lo), min(after, hi)
        if first < last:
            n_purged += int(np.count_nonzero(keep[first - lo : last - lo]))
            keep[first - lo : last - lo] = False
        block_ends.append((after, m))
    n_embargoed = 0
    span, n_times = embargo
    if span or n_times:
        for after, m in block_ends:
            end = _embargo_end(timeline, after, m, span, n_times)
            first, last = max(after, lo), min(end, hi)
            if first < last:
                n_embargoed += int(np.count_nonzero(keep[first - lo : last - lo]))
                keep[first - lo : last - lo] = False
    train = np.flatnonzero(keep)
    if lo:
        train += lo
    return train, n_purged, n_embargoed
