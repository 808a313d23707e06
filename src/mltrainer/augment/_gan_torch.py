"""The torch part of the window GAN (imported only when a GAN is trained or loaded).

Generator: a GRU reads a latent sequence and gives, for every bar and channel, a location
and a log-scale; the output is ``location + exp(log_scale) * noise`` with fresh Gaussian
noise per bar. Its scale follows a learned recurrent state, a neural stochastic-volatility
model: mixing Gaussians through a persistent scale is what gives markets their heavy
tails and volatility clustering, which a plain MLP generator does not reproduce.
Critic: three 1-D convolutions over the window plus the window's absolute moments per
channel (so tails are visible to it), trained with the WGAN gradient penalty
(Gulrajani et al. 2017: ``n_critic`` critic steps per generator step, Adam with
``betas=(0.5, 0.9)``). All randomness comes from ``torch.Generator`` objects seeded by
the caller; the global torch seed is restored after initialising the weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["Critic", "Generator", "sample_windows", "train_wgan_gp"]


class Generator(nn.Module):
    """Latent sequence -> windows of ``channels`` standardised values."""

    def __init__(self, latent_dim: int, hidden: int, channels: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.channels = channels
        self.gru = nn.GRU(latent_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2 * channels)

    def forward(self, z: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        state, _ = self.gru(z)
        loc, log_scale = self.head(state).chunk(2, dim=-1)
        return loc + torch.exp(log_scale.clamp(-6.0, 3.0)) * noise


class Critic(nn.Module):
    """Windows ``(batch, window, channels)`` -> one score each."""

    def __init__(self, channels: int, hidden: int, window: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(channels, hidden, 5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, hidden, 5, padding=2, stride=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, hidden, 5, padding=2, stride=2),
            nn.LeakyReLU(0.2),
        )
        length = math.ceil(math.ceil(window / 2) / 2)
        self.out = nn.Linear(hidden * length + 3 * channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.conv(x.transpose(1, 2)).flatten(1)
        a = x.abs()
        moments = torch.cat([a.mean(1), (a**2).mean(1), (a**3).mean(1).clamp(max=50.0)], dim=1)
        return self.out(torch.cat([features, moments], dim=1)).squeeze(1)


def _penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator):
    alpha = torch.rand(real.shape[0], 1, 1, generator=gen)
    mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    grad = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)[0]
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def _noise(n: int, window: int, generator: Generator, gen: torch.Generator):
    z = torch.randn(n, window, generator.latent_dim, generator=gen)
    eps = torch.randn(n, window, generator.channels, generator=gen)
    return z, eps


def train_wgan_gp(
    data: np.ndarray,
    settings: Mapping[str, Any],
    *,
    seed: int,
    on_epoch: Callable[[int, dict[str, torch.Tensor]], bool] | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Fit a generator on standardised windows ``data`` (n, window, channels).

    Returns the generator's ``state_dict`` and a history (losses per epoch, steps,
    seconds, generator steps per second). Trains on ``settings["threads"]`` threads
    (default 1: small networks run fastest on one, and folds may run in parallel); the
    previous torch thread count is restored afterwards. ``on_epoch(epoch, state_dict)``
    is called after each epoch; returning True stops the training there.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(int(settings.get("threads", 1)))
    try:
        return _train(data, settings, seed=seed, on_epoch=on_epoch)
    finally:
        torch.set_num_threads(threads)


def _train(
    data: np.ndarray,
    settings: Mapping[str, Any],
    *,
    seed: int,
    on_epoch: Callable[[int, dict[str, torch.Tensor]], bool] | None,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    n, window, channels = data.shape
    batch = int(settings["batch_size"])
    real_all = torch.as_tensor(data, dtype=torch.float32)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = Generator(int(settings["latent_dim"]), int(settings["hidden"]), channels)
        critic = Critic(channels, int(settings["hidden"]), window)
    gen = torch.Generator().manual_seed(seed)
    lr = float(settings["learning_rate"])
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=lr, betas=(0.5, 0.9))
    gp_weight = float(settings["gp_weight"])
    steps_per_epoch = max(1, n // batch)
    history: dict[str, Any] = {"critic_loss": [], "generator_loss": []}
    start = time.perf_counter()
    steps = 0
    for epoch in range(int(settings["epochs"])):
        c_total = g_total = 0.0
        for _ in range(steps_per_epoch):
            for _ in range(int(settings["n_critic"])):
                real = real_all[torch.randint(n, (batch,), generator=gen)]
                with torch.no_grad():
                    fake = generator(*_noise(batch, window, generator, gen))
                loss_c = critic(fake).mean() - critic(real).mean()
                loss_c = loss_c + gp_weight * _penalty(critic, real, fake, gen)
                opt_c.zero_grad(set_to_none=True)
                loss_c.backward()
                opt_c.step()
            loss_g = -critic(generator(*_noise(batch, window, generator, gen))).mean()
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            c_total += float(loss_c.detach())
            g_total += float(loss_g.detach())
            steps += 1
        history["critic_loss"].append(c_total / steps_per_epoch)
        history["generator_loss"].append(g_total / steps_per_epoch)
        if on_epoch is not None:
            state = {k: v.detach().clone() for k, v in generator.state_dict().items()}
            if on_epoch(epoch, state):
                break
    seconds = time.perf_counter() - start
    history.update(
        steps=steps, seconds=seconds, steps_per_second=steps / seconds if seconds > 0 else 0.0
    )
    return generator.state_dict(), history


def sample_windows(
    state: Mapping[str, torch.Tensor],
    settings: Mapping[str, Any],
    *,
    channels: int,
    n: int,
    seed: int,
) -> np.ndarray:
    """``n`` standardised windows from a generator ``state_dict``."""
    with torch.random.fork_rng(devices=[]):
        generator = Generator(int(settings["latent_dim"]), int(settings["hidden"]), channels)
    generator.load_state_dict(dict(state))
    generator.eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        out = generator(*_noise(n, int(settings["window"]), generator, gen))
    return out.numpy().astype(float)
