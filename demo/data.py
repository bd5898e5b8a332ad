"""Batches of rendered scenes for the demo trainer."""
from __future__ import annotations

import random

import numpy as np
import torch

from demo.render import render
from demo.scenes import Scene, held_out, random_scene


def to_tensor(images) -> torch.Tensor:
    """PIL images -> float tensor [B, 3, H, W] in -1..1 (what the VAE takes)."""
    array = np.stack([np.asarray(image, dtype=np.float32) for image in images])
    return torch.from_numpy(array).permute(0, 3, 1, 2) / 127.5 - 1.0


def training_scenes(count: int, seed: int) -> list[Scene]:
    """`count` random scenes, none of them in the held-out combinations."""
    rng = random.Random(seed)
    excluded = held_out()
    return [random_scene(rng, excluded) for _ in range(count)]


def image_crops(rng: random.Random, batch: int, image_size: int, crop: int) -> torch.Tensor:
    """Random crops of freshly rendered training scenes, for the autoencoder."""
    excluded = held_out()
    crops = []
    for _ in range(batch):
        image = render(random_scene(rng, excluded), image_size)
        x, y = rng.randrange(image_size - crop + 1), rng.randrange(image_size - crop + 1)
        crops.append(image.crop((x, y, x + crop, y + crop)))
    return to_tensor(crops)
