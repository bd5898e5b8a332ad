"""Upscale an IMAGE batch with an UpscaleModel, tile by tile, on the compute device.

As in ComfyUI: 512 px tiles with 32 px overlap, and the tile halves after an
out-of-memory error (down to 128 px). Before starting, the tile also shrinks
until one tile's activations fit in half the free memory, since running out of
RAM on the CPU kills the process instead of raising.
"""
from __future__ import annotations

import torch

from engine import devices
from engine.upscale.tiling import run_tiled, tile_count

TILE, OVERLAP, MIN_TILE = 512, 32, 128


def tile_bytes(model, tile: int) -> int:
    """A rough bound on one tile's activations: a few feature maps at the output size, the dense
    concatenations at the input size."""
    net = model.model
    features = net.conv_first.out_channels
    growth = net.body[0].rdb1.conv1.out_channels if len(net.body) else 0
    out_side = tile * model.scale
    return 4 * (4 * features * out_side * out_side + 3 * (features + 4 * growth) * tile * tile)


def fit_tile(model, tile: int, free_bytes: int) -> int:
    while tile > MIN_TILE and tile_bytes(model, tile) > free_bytes // 2:
        tile //= 2
    return tile


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, torch.OutOfMemoryError):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def upscale_image(model, image: torch.Tensor, tile: int = TILE, overlap: int = OVERLAP, progress=None,
                  device=None, dtype=None) -> torch.Tensor:
    """IMAGE [B,H,W,C] in 0..1 -> IMAGE [B,H*scale,W*scale,3] float32 on the CPU, clamped to 0..1.

    The first `model.input_channels` channels are used (alpha is dropped; grey is repeated).
    progress(done, total) runs after every tile and may raise to interrupt."""
    device = device or devices.torch_device()
    dtype = dtype or devices.upscale_dtype()
    pixels = image.movedim(-1, 1).float()
    channels = model.input_channels
    if pixels.shape[1] < channels:
        pixels = pixels[:, :1].repeat(1, channels, 1, 1)
    pixels = pixels[:, :channels]
    tile = fit_tile(model, tile, devices.free_memory(device))

    def network(piece):
        return model(piece.to(device, dtype)).to("cpu", torch.float32)

    model.to(device, dtype)
    try:
        while True:
            try:
                return _all_images(network, model, pixels, tile, overlap, progress)
            except Exception as error:
                if not _is_out_of_memory(error) or tile // 2 < MIN_TILE:
                    raise
                devices.empty_cache()
                tile //= 2
    finally:
        model.to(devices.offload_device(), torch.float32)
        devices.empty_cache()


def _all_images(network, model, pixels, tile, overlap, progress):
    batch, _, height, width = pixels.shape
    align = model.multiple_of
    per_image = tile_count(height, width, tile, min(overlap, tile // 2), align)
    output = torch.zeros(batch, height * model.scale, width * model.scale, model.output_channels)
    for index in range(batch):
        run_tiled(network, pixels[index:index + 1], model.scale, model.output_channels, tile, overlap,
                  progress=progress, done_before=index * per_image, total=batch * per_image,
                  output=output[index:index + 1], align=align)
    return output.clamp_(0.0, 1.0)
