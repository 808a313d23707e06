"""RingBuffer: fixed memory, O(1) appends, ordered snapshots, sampling without replacement."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.exceptions import ConfigError
from mltrainer.online import RingBuffer


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    capacity=st.integers(1, 9),
    chunks=st.lists(st.integers(0, 12), min_size=1, max_size=8),
    by_row=st.booleans(),
)
def test_snapshot_equals_the_newest_rows_in_order(
    capacity: int, chunks: list[int], by_row: bool
) -> None:
    buf = RingBuffer(capacity, n_features=2)
    arrays = (buf.X, buf.y, buf.t0)
    reference: deque[int] = deque(maxlen=capacity)
    counter = 0
    for size in chunks:
        ids = np.arange(counter, counter + size)
        counter += size
        X = np.c_[ids, -ids].astype(float)
        if by_row:
            for i in ids:
                buf.append(np.array([i, -i], float), y=i, t0=i, t1=i + 1, weight=1.0, loss=0.5)
        else:
            buf.extend(X, y=ids, t0=ids, t1=ids + 1, loss=np.full(size, 0.5))
        reference.extend(ids.tolist())
        snap = buf.snapshot()
        assert snap["t0"].tolist() == list(reference)
        assert snap["X"][:, 0].tolist() == list(reference)
        assert (snap["t1"] == snap["t0"] + 1).all()
        assert len(buf) == len(reference)
        last = min(3, len(reference))
        assert buf.snapshot(last=last)["t0"].tolist() == list(reference)[len(reference) - last :]
    assert (buf.X, buf.y, buf.t0) == arrays  # the same arrays: memory is fixed
    assert buf.n_appended == counter


def test_sample_is_without_replacement_and_in_time_order() -> None:
    buf = RingBuffer(50, n_features=1)
    for i in range(120):
        buf.append(np.array([float(i)]), y=0, t0=i, t1=i)
    picked = buf.sample(30, random_state=3)["t0"]
    assert len(set(picked.tolist())) == 30
    assert (np.diff(picked) > 0).all()
    assert picked.min() >= 70
    np.testing.assert_array_equal(picked, buf.sample(30, random_state=3)["t0"])
    with pytest.raises(ConfigError, match="cannot sample 51 rows"):
        buf.sample(51)


def test_state_round_trip() -> None:
    buf = RingBuffer(7, n_features=3)
    rng = np.random.default_rng(0)
    for i in range(11):
        buf.append(rng.normal(size=3), y=i % 2, t0=i, t1=i + 2, weight=0.5, loss=float(i))
    copy = RingBuffer(7, n_features=3)
    copy.restore(buf.state())
    for key, value in buf.snapshot().items():
        np.testing.assert_array_equal(copy.snapshot()[key], value)
    assert copy.n_appended == 11


def test_bad_sizes() -> None:
    with pytest.raises(ConfigError, match="capacity=0 must be an int >= 1"):
        RingBuffer(0, n_features=2)
    with pytest.raises(ConfigError, match="n_features"):
        RingBuffer(3, n_features=True)
