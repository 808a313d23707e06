"""The quality gate, the stylized facts, and the GAN (tiny: seconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mltrainer.augment import (
    GATE_TOLERANCES,
    GanSettings,
    WindowGenerator,
    bar_channels,
    bootstrap_paths,
    holdout_windows,
    quality_gate,
    stylized_facts,
    train_generator,
    windows_from_bars,
)
from mltrainer.data import load_bars
from mltrainer.exceptions import DataError

WINDOW = 32


@pytest.fixture(scope="module")
def long_bars() -> pd.DataFrame:
    return load_bars("sp500")  # 1999-2018: calm and wild years


@pytest.fixture(scope="module")
def split(long_bars: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return holdout_windows(bar_channels(long_bars), WINDOW, 0.2)


def test_holdout_blocks_share_no_bar_with_training_windows() -> None:
    series = np.arange(1000.0)[:, None].repeat(3, axis=1)
    train, held = holdout_windows(series, 10, 0.2)
    assert not set(train[..., 0].ravel()) & set(held[..., 0].ravel())
    assert held.shape[0] > 0
    assert train.shape[0] > 3 * held.shape[0]


def test_facts_of_market_returns(long_bars: pd.DataFrame) -> None:
    facts = stylized_facts(windows_from_bars(long_bars, WINDOW))
    assert facts.kurtosis > 3  # heavy tails
    assert np.abs(facts.acf_returns[:5]).mean() < 0.1  # near-zero autocorrelation
    assert facts.acf_abs[:5].mean() > 0  # volatility clustering
    assert facts.leverage.mean() < 0  # leverage effect


def test_gate_accepts_the_bootstrap_baseline_on_its_stylized_facts(
    long_bars: pd.DataFrame, split: tuple[np.ndarray, np.ndarray]
) -> None:
    train, held = split
    paths = bootstrap_paths(long_bars, 3, block="auto", seed=0)
    synthetic = np.concatenate([windows_from_bars(p, WINDOW, WINDOW // 4) for p in paths])
    gate = quality_gate(train, held, synthetic, level="strict", seed=0)
    assert gate.facts_passed, gate.as_dict()["checks"]
    assert {"kurtosis", "acf_returns", "acf_abs", "leverage"} <= {c.name for c in gate.checks}
    assert gate.as_dict()["tolerances"] == GATE_TOLERANCES["strict"]


def test_gate_rejects_an_untrained_generator(split: tuple[np.ndarray, np.ndarray]) -> None:
    train, held = split
    settings = GanSettings(window=WINDOW, epochs=0, batch_size=64, hidden=8, latent_dim=4)
    untrained = train_generator(train, settings, seed=0)
    gate = quality_gate(train, held, untrained.sample(600, seed=1), seed=0)
    assert not gate.passed
    assert not gate.facts_passed
    assert "discriminative_auc" in gate.failed()
    assert gate.summary().startswith("quality gate (strict) failed")


def test_gate_rejects_a_generator_that_replays_training_windows(
    split: tuple[np.ndarray, np.ndarray],
) -> None:
    train, held = split
    gate = quality_gate(train, held, train[::3], seed=0)
    assert "memorisation" in gate.failed()


def test_tiny_gan_trains_is_seeded_and_round_trips_weights_only(
    split: tuple[np.ndarray, np.ndarray],
) -> None:
    train = split[0][:256]
    settings = GanSettings(window=WINDOW, epochs=1, batch_size=64, hidden=8, latent_dim=4)
    a = train_generator(train, settings, seed=5)
    b = train_generator(train, settings, seed=5)
    assert a.history["steps"] == 4
    np.testing.assert_allclose(a.sample(4, seed=2), b.sample(4, seed=2))
    loaded = WindowGenerator.from_bytes(a.to_bytes())
    np.testing.assert_allclose(loaded.sample(4, seed=2), a.sample(4, seed=2))
    assert loaded.sample(3).shape == (3, WINDOW, 3)


def test_gan_on_fewer_windows_than_a_batch_is_refused(
    split: tuple[np.ndarray, np.ndarray],
) -> None:
    with pytest.raises(DataError, match="fewer than a batch"):
        train_generator(split[0][:20], GanSettings(window=WINDOW, batch_size=64), seed=0)


def test_a_file_that_is_not_a_generator_is_refused() -> None:
    with pytest.raises(DataError, match="not a window generator"):
        WindowGenerator.from_bytes(b"not torch")
