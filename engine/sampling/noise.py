"""Seeded noise: the same seed gives the same image on any device."""
from __future__ import annotations

import torch


def _generator(seed: int) -> torch.Generator:
    return torch.Generator("cpu").manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)


def initial_noise(samples: torch.Tensor, seed: int, batch_index=None) -> torch.Tensor:
    """Noise for a latent batch.

    Without batch_index the whole batch is one draw. With batch_index (latents picked
    from a larger batch), image i gets the noise that image batch_index[i] would get
    in a batch drawn one image at a time, so an image reproduces outside its batch.
    """
    generator = _generator(seed)
    if batch_index is None:
        return torch.randn(samples.shape, generator=generator, dtype=torch.float32)
    indices = [int(i) for i in batch_index]
    single_shape = (1,) + tuple(samples.shape[1:])
    draws = {}
    for index in range(max(indices) + 1):
        draw = torch.randn(single_shape, generator=generator, dtype=torch.float32)
        if index in indices:
            draws[index] = draw
    return torch.cat([draws[i] for i in indices])


def step_noise(seed: int, like: torch.Tensor):
    """A noise source for ancestral/SDE samplers: noise(sigma, sigma_next) -> randn like `like`."""
    generator = _generator(seed)

    def noise(sigma=None, sigma_next=None):
        return torch.randn(like.shape, generator=generator, dtype=torch.float32).to(like.device)

    return noise


class RandomNoise:
    """ComfyUI's NOISE from a seed: `generate(latent)` gives the latent's initial noise;
    `seed` also seeds the per-step noise of ancestral/SDE samplers."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def generate(self, latent: dict) -> torch.Tensor:
        return initial_noise(latent["samples"], self.seed, latent.get("batch_index"))


class DisableNoise:
    """NOISE that adds nothing: sampling starts from the latent as it is."""

    def __init__(self, seed: int = 0):
        self.seed = int(seed)

    def generate(self, latent: dict) -> torch.Tensor:
        return torch.zeros(latent["samples"].shape, dtype=torch.float32)
