"""Block bootstraps (arch): block lengths, row resamples, bar paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mltrainer.augment import (
    BlockBootstrapAugmenter,
    bar_moves,
    block_length,
    bootstrap_paths,
    bootstrap_positions,
    rebuild_bars,
)
from mltrainer.cv import TrainingRows
from mltrainer.exceptions import ConfigError, DataError


def test_optimal_block_length_is_an_int_for_the_circular_bootstrap(bars: pd.DataFrame) -> None:
    r = np.abs(np.diff(np.log(bars["close"].to_numpy())))
    circular = block_length(r, "circular")
    assert circular == int(circular) >= 1
    assert block_length(r, "stationary") >= 1
    assert block_length(np.ones(50), "stationary") == 1.0
    with pytest.raises(ConfigError, match="circular"):
        block_length(r, "moving")


def test_positions_are_seeded_and_in_blocks() -> None:
    a = bootstrap_positions(500, kind="circular", block=25, n_resamples=3, seed=7)
    b = bootstrap_positions(500, kind="circular", block=25, n_resamples=3, seed=7)
    np.testing.assert_array_equal(a, b)
    steps = np.diff(a[0])
    assert np.mean((steps == 1) | (steps == -499)) > 0.9  # mostly consecutive positions


def test_rows_bootstrap_keeps_each_copy_t0_t1_and_weight() -> None:
    t0 = pd.date_range("2021-01-01", periods=200, freq="D", tz="UTC")
    t1 = pd.Series(t0 + pd.Timedelta("2D"), index=t0)
    X = pd.DataFrame({"x": np.arange(200.0)}, index=t0)
    y = pd.Series(np.arange(200) % 3, index=t0)
    w = np.linspace(0.5, 2.0, 200)
    out = BlockBootstrapAugmenter(kind="stationary", block=8, multiplier=2.5).resample(
        TrainingRows(X, y, w, t1), fold=0
    )
    assert out.n_synthetic == 300
    assert len(out) == 500
    source = out.X["x"].to_numpy().astype(int)  # x is the source row's position
    np.testing.assert_array_equal(out.X.index, t0[source])
    np.testing.assert_array_equal(out.t1.to_numpy(), t1.to_numpy()[source])
    np.testing.assert_allclose(out.sample_weight, w[source])
    np.testing.assert_array_equal(np.asarray(out.y), y.to_numpy()[source])


def test_bars_rebuilt_from_their_moves_are_the_bars(bars: pd.DataFrame) -> None:
    rebuilt = rebuild_bars(bar_moves(bars), first=bars.iloc[0], index=bars.index)
    np.testing.assert_allclose(
        rebuilt[["open", "high", "low", "close", "volume"]].to_numpy(),
        bars[["open", "high", "low", "close", "volume"]].to_numpy(),
        rtol=1e-9,
    )


def test_bootstrap_paths_are_consistent_bars_resampled_from_real_moves(bars: pd.DataFrame) -> None:
    paths = bootstrap_paths(bars, 3, kind="stationary", block="auto", seed=1)
    real = {tuple(np.round(m, 12)) for m in bar_moves(bars)}
    for path in paths:
        assert path.index.equals(bars.index)
        assert (path["high"] >= path[["open", "close"]].max(axis=1) - 1e-9).all()
        assert (path["low"] <= path[["open", "close"]].min(axis=1) + 1e-9).all()
        assert all(tuple(np.round(m, 12)) in real for m in bar_moves(path)[:50])
    assert not paths[0]["close"].equals(paths[1]["close"])


def test_paths_need_one_instrument(bars: pd.DataFrame) -> None:
    panel = pd.concat([bars.assign(symbol="a"), bars.assign(symbol="b")])
    with pytest.raises(DataError, match="one instrument"):
        bootstrap_paths(panel, 1)
