"""uniqueness_weights against the book's loop, and its time decay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.cv import uniqueness_weights
from mltrainer.exceptions import ConfigError, DataError


def book_uniqueness(t0: np.ndarray, t1: np.ndarray, bars: np.ndarray) -> np.ndarray:
    """AFML snippets 4.1-4.2, written as plain loops over events and bars."""
    concurrency = np.zeros(bars.size)
    for a, b in zip(t0, t1, strict=True):
        concurrency[(bars >= a) & (bars <= b)] += 1
    out = np.empty(t0.size)
    for i, (a, b) in enumerate(zip(t0, t1, strict=True)):
        span = (bars >= a) & (bars <= b)
        out[i] = np.mean(1.0 / concurrency[span])
    return out


@settings(max_examples=100, deadline=None)
@given(
    stamps=st.lists(st.integers(0, 60), min_size=1, max_size=40),
    horizons=st.lists(st.integers(0, 15), min_size=40, max_size=40),
)
def test_matches_the_book_on_random_overlapping_labels(
    stamps: list[int], horizons: list[int]
) -> None:
    t0 = np.sort(np.array(stamps))  # duplicates: several labels share a t0 (panels)
    t1 = t0 + np.array(horizons[: t0.size])
    grid = np.unique(np.concatenate((t0, t1)))
    np.testing.assert_allclose(uniqueness_weights(t0, t1), book_uniqueness(t0, t1, grid))
    every_bar = np.arange(0, 80)
    np.testing.assert_allclose(
        uniqueness_weights(t0, t1, bars=every_bar), book_uniqueness(t0, t1, every_bar)
    )


def test_datetimes_in_any_order_and_known_values() -> None:
    t0 = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
    t1 = pd.Series(t0 + pd.Timedelta("5h"), index=t0)
    weights = uniqueness_weights(t0, t1)
    # label 0 spans hours 0..5 with 1, 2, 3, 4, 5, 5 labels active
    assert weights[0] == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5 + 1 / 5) / 6)
    np.testing.assert_allclose(weights, weights[::-1])  # symmetric layout
    order = [3, 0, 4, 1, 2]
    np.testing.assert_allclose(uniqueness_weights(t0[order], t1.iloc[order]), weights[order])
    # non-overlapping labels are fully unique
    np.testing.assert_allclose(uniqueness_weights(t0, t0.to_series()), np.ones(5))


def test_time_decay_follows_the_book() -> None:
    t0 = np.arange(10)
    t1 = t0 + 2
    plain = uniqueness_weights(t0, t1)
    np.testing.assert_allclose(uniqueness_weights(t0, t1, decay=1.0), plain)
    cumulative = np.cumsum(plain)
    for c in (0.5, 0.0, -0.5):
        slope = (1 - c) / cumulative[-1] if c >= 0 else 1 / ((c + 1) * cumulative[-1])
        factor = np.clip(1 - slope * cumulative[-1] + slope * cumulative, 0, None)
        decayed = uniqueness_weights(t0, t1, decay=c)
        np.testing.assert_allclose(decayed, plain * factor)
        assert decayed[-1] == pytest.approx(plain[-1])  # the newest label keeps factor 1
    assert (uniqueness_weights(t0, t1, decay=-0.5)[:4] == 0).all()  # oldest half: zero
    assert (np.diff(uniqueness_weights(t0, t1, decay=0.0) / plain) > 0).all()


def test_bad_input() -> None:
    t0 = np.arange(5)
    with pytest.raises(ConfigError, match=r"decay=1.5 is outside \(-1, 1\]"):
        uniqueness_weights(t0, t0, decay=1.5)
    with pytest.raises(DataError, match=r"t1\[2\] is before its t0\[2\]"):
        uniqueness_weights(t0, np.array([0, 1, 1, 3, 4]))
    with pytest.raises(DataError, match=r"t1 has 4 rows but t0 has 5"):
        uniqueness_weights(t0, t0[:4])
    times = pd.date_range("2024-01-01", periods=5, freq="D")
    with pytest.raises(DataError, match=r"t1\[1\] is missing \(NaT\)"):
        uniqueness_weights(times, pd.Series([times[0], pd.NaT, *times[2:]]))
    assert uniqueness_weights(np.array([], dtype=int), np.array([], dtype=int)).size == 0
