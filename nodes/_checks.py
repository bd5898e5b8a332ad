"""Input checks shared by the image and mask utility nodes: each raises ValueError
naming the input, so the executor can say which node and which input is wrong.
Torch-free at import."""
from __future__ import annotations

import math

from nodes._common import check_image  # noqa: F401  (re-exported for the node modules)

MAX_RESOLUTION = 16384


def check_mask(mask, input_name: str = "mask"):
    """A MASK as [B,H,W] ([H,W] gains a batch axis); ValueError naming the input otherwise."""
    import torch

    if not isinstance(mask, torch.Tensor) or mask.ndim not in (2, 3):
        shape = list(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(f"{input_name}: expected a MASK [batch, height, width], got {shape}")
    if mask.ndim == 2:
        mask = mask[None]
    if mask.shape[0] < 1 or mask.shape[1] < 1 or mask.shape[2] < 1:
        raise ValueError(f"{input_name}: the mask is empty, shape {list(mask.shape)}")
    return mask.float()


def check_int(input_name: str, value, low=None, high=None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{input_name}: expected a whole number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{input_name}: {value} is outside {low}..{high}")
    return value


def check_float(input_name: str, value, low=None, high=None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{input_name}: expected a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{input_name}: {value} is outside {low}..{high}")
    return float(value)


def check_choice(input_name: str, value, options):
    if value not in options:
        raise ValueError(f"{input_name}: expected one of {list(options)}, got {value!r}")
    return value


def pad_channels(image, channels: int):
    """Add opaque alpha (ones) until the image has `channels` channels."""
    import torch

    missing = channels - image.shape[-1]
    if missing <= 0:
        return image
    return torch.cat((image, torch.ones(*image.shape[:-1], missing, dtype=image.dtype)), dim=-1)


def repeat_to_batch(tensor, batch: int):
    """Repeat the last item so a batch reaches `batch` items (as ComfyUI does for uneven batches)."""
    import torch

    if tensor.shape[0] >= batch:
        return tensor
    extra = tensor[-1:].expand(batch - tensor.shape[0], *tensor.shape[1:])
    return torch.cat((tensor, extra), dim=0)
