"""The VAE value type passed between nodes (ComfyUI's VAE).

Wraps a diffusers ``AutoencoderKL`` and speaks the node data types:
IMAGE ``[B,H,W,3]`` floats in 0..1 and latents ``[B,C,H/8,W/8]`` already
multiplied by the scaling factor (and shifted by the shift factor when the
config has one).

Encoding uses the mean of the latent distribution, so it is deterministic.
Work runs in batches on the device and dtype chosen by ``engine.devices``
(CPU fp32 when that module is not available); results come back as float32
CPU tensors.

Tiled encode/decode work on overlapping tiles and blend the overlaps with
linear ramps, so that the seams left by per-tile group-norm statistics fade
out. ``tile_size`` and ``overlap`` are given in pixels for both directions.
"""

from __future__ import annotations

import math

import torch

# How many pixels (batch * height * width) one encode/decode call handles at once.
# A 512x512 image decodes comfortably on CPU; larger batches are split up.
_PIXELS_PER_CALL = 2 * 512 * 512
# Above this many pixels per image, plain encode/decode work in tiles: one call on a
# huge image needs tens of GB and cannot be interrupted (ComfyUI retries in tiles
# after running out of memory; Loom does not wait for that).
TILED_ABOVE_PIXELS = 2048 * 2048
AUTO_TILE, AUTO_OVERLAP = 256, 64   # small pieces: an interrupt waits for one at most


def _device_and_dtype():
    """Device and dtype for VAE work, from engine.devices when it exists."""
    try:
        from engine import devices
    except ImportError:
        return torch.device("cpu"), torch.float32
    return devices.torch_device(), devices.vae_dtype()


class VAE:
    """A variational autoencoder that turns images into latents and back."""

    downscale_ratio = 8

    def __init__(self, autoencoder, arch: str = "sd1"):
        self.autoencoder = autoencoder
        self.arch = arch
        config = autoencoder.config
        self.scaling_factor = float(config.scaling_factor)
        shift = getattr(config, "shift_factor", None)
        self.shift_factor = float(shift) if shift is not None else 0.0
        self.latent_channels = int(config.latent_channels)

    @property
    def nbytes(self) -> int:
        """Size of the autoencoder's weights; lets caches size a VAE without walking it."""
        from engine.model_cache import weights_bytes

        return weights_bytes(self.autoencoder)

    def __repr__(self) -> str:
        return f"VAE(arch={self.arch!r}, latent_channels={self.latent_channels})"

    # ------------------------------------------------------------------ helpers

    def _batch_size(self, height: int, width: int) -> int:
        return max(1, _PIXELS_PER_CALL // max(1, height * width))

    def _prepare_model(self):
        device, dtype = _device_and_dtype()
        param = next(self.autoencoder.parameters())
        if param.device != device or param.dtype != dtype:
            self.autoencoder.to(device=device, dtype=dtype)
        return device, dtype

    def _check_images(self, images: torch.Tensor) -> None:
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[-1] < 3:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"pixels: expected an IMAGE tensor [B,H,W,3], got {shape}")

    def _check_latents(self, latents: torch.Tensor) -> None:
        if not isinstance(latents, torch.Tensor) or latents.ndim != 4:
            shape = tuple(latents.shape) if isinstance(latents, torch.Tensor) else type(latents).__name__
            raise ValueError(f"samples: expected latents [B,C,H,W], got {shape}")
        if latents.shape[1] != self.latent_channels:
            raise ValueError(
                f"samples: latents have {latents.shape[1]} channels but this VAE "
                f"expects {self.latent_channels} (wrong VAE for this model?)"
            )

    @torch.no_grad()
    def _encode_pixels(self, pixels: torch.Tensor, progress=None) -> torch.Tensor:
        """pixels [B,3,H,W] in -1..1 -> scaled latents [B,C,h,w] float32 CPU."""
        device, dtype = self._prepare_model()
        batch = self._batch_size(pixels.shape[2], pixels.shape[3])
        parts = []
        for start in range(0, pixels.shape[0], batch):
            chunk = pixels[start:start + batch].to(device=device, dtype=dtype)
            mean = self.autoencoder.encode(chunk).latent_dist.mode()
            latents = (mean.float() - self.shift_factor) * self.scaling_factor
            parts.append(latents.cpu())
            if progress is not None:
                progress(min(start + batch, pixels.shape[0]), pixels.shape[0])
        return torch.cat(parts, dim=0)

    @torch.no_grad()
    def _decode_latents(self, latents: torch.Tensor, progress=None) -> torch.Tensor:
        """scaled latents [B,C,h,w] -> pixels [B,3,H,W] in -1..1, float32 CPU."""
        device, dtype = self._prepare_model()
        ratio = self.downscale_ratio
        batch = self._batch_size(latents.shape[2] * ratio, latents.shape[3] * ratio)
        parts = []
        for start in range(0, latents.shape[0], batch):
            chunk = latents[start:start + batch].float() / self.scaling_factor + self.shift_factor
            decoded = self.autoencoder.decode(chunk.to(device=device, dtype=dtype)).sample
            parts.append(decoded.float().cpu())
            if progress is not None:
                progress(min(start + batch, latents.shape[0]), latents.shape[0])
        return torch.cat(parts, dim=0)

    # ------------------------------------------------------------------ public

    def encode(self, images: torch.Tensor, progress=None) -> torch.Tensor:
        """IMAGE [B,H,W,3] 0..1 -> scaled latents [B,C,H/8,W/8].

        ``progress(done, total)`` is called after each batch chunk (or tile, for images
        above TILED_ABOVE_PIXELS); it may raise to stop the work (an interrupt)."""
        self._check_images(images)
        if images.shape[1] * images.shape[2] > TILED_ABOVE_PIXELS:
            return self.encode_tiled(images, AUTO_TILE, AUTO_OVERLAP, progress=progress)
        pixels = images[..., :3].permute(0, 3, 1, 2).float() * 2.0 - 1.0
        return self._encode_pixels(pixels, progress)

    def decode(self, latents: torch.Tensor, progress=None) -> torch.Tensor:
        """Scaled latents [B,C,h,w] -> IMAGE [B,8h,8w,3] 0..1, float32 CPU (see encode).

        A video latent [B,C,F,h,w] decodes frame by frame to [B*F,8h,8w,3]."""
        latents = _frames_as_batch(latents)
        self._check_latents(latents)
        ratio = self.downscale_ratio
        if latents.shape[2] * latents.shape[3] * ratio * ratio > TILED_ABOVE_PIXELS:
            return self.decode_tiled(latents, AUTO_TILE, AUTO_OVERLAP, progress=progress)
        pixels = self._decode_latents(latents, progress)
        return _to_image(pixels)

    def decode_tiled(self, latents: torch.Tensor, tile_size: int = 512, overlap: int = 64,
                     progress=None) -> torch.Tensor:
        """Decode in overlapping tiles of ``tile_size`` pixels, blending ``overlap`` pixels.

        ``progress(done, total)`` is called after each tile when given.
        """
        latents = _frames_as_batch(latents)
        self._check_latents(latents)
        ratio = self.downscale_ratio
        tile = max(1, tile_size // ratio)
        lap = max(0, overlap // ratio)
        pixels = _run_tiled(
            latents, tile, lap, scale=ratio, out_channels=3, fn=self._decode_latents,
            progress=progress,
        )
        return _to_image(pixels)

    def encode_tiled(self, images: torch.Tensor, tile_size: int = 512, overlap: int = 64,
                     progress=None) -> torch.Tensor:
        """Encode in overlapping tiles of ``tile_size`` pixels, blending ``overlap`` pixels.

        ``progress(done, total)`` is called after each tile when given.
        """
        self._check_images(images)
        ratio = self.downscale_ratio
        pixels = images[..., :3].permute(0, 3, 1, 2).float() * 2.0 - 1.0
        # Tiles and overlaps must land on the latent grid.
        tile = max(ratio, tile_size // ratio * ratio)
        lap = overlap // ratio * ratio
        return _run_tiled(
            pixels, tile, lap, scale=1.0 / ratio, out_channels=self.latent_channels,
            fn=self._encode_pixels, progress=progress,
        )


def _frames_as_batch(latents):
    if isinstance(latents, torch.Tensor) and latents.ndim == 5:
        from engine.video import frames_to_batch

        return frames_to_batch(latents)
    return latents


def _to_image(pixels: torch.Tensor) -> torch.Tensor:
    return ((pixels + 1.0) / 2.0).clamp(0.0, 1.0).permute(0, 2, 3, 1).contiguous()


def _tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles covering ``length``; the last tile ends at the edge."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    count = math.ceil((length - tile) / stride) + 1
    starts = [min(i * stride, length - tile) for i in range(count)]
    return sorted(set(starts))


def _ramp(length: int, fade: int, fade_start: bool, fade_end: bool) -> torch.Tensor:
    """1-D blending weights: linear ramps of ``fade`` samples at the faded ends."""
    weights = torch.ones(length)
    fade = min(fade, length // 2)
    if fade > 0:
        ramp = (torch.arange(fade, dtype=torch.float32) + 1.0) / (fade + 1.0)
        if fade_start:
            weights[:fade] = ramp
        if fade_end:
            weights[length - fade:] = ramp.flip(0)
    return weights


def _run_tiled(source, tile, overlap, scale, out_channels, fn, progress=None):
    """Apply ``fn`` to overlapping tiles of ``source`` [B,C,H,W] and blend the results.

    ``tile`` and ``overlap`` are in source units; ``scale`` converts source
    units to output units (8 for decode, 1/8 for encode).
    """
    batch, _, height, width = source.shape
    out_h, out_w = round(height * scale), round(width * scale)
    output = torch.zeros(batch, out_channels, out_h, out_w)
    weight = torch.zeros(1, 1, out_h, out_w)
    ys = _tile_starts(height, tile, overlap)
    xs = _tile_starts(width, tile, overlap)
    fade = round(overlap * scale)
    total = len(ys) * len(xs)
    done = 0
    for y in ys:
        for x in xs:
            piece = source[:, :, y:y + tile, x:x + tile]
            result = fn(piece)
            oy, ox = round(y * scale), round(x * scale)
            th, tw = result.shape[2], result.shape[3]
            wy = _ramp(th, fade, fade_start=y > 0, fade_end=y + tile < height)
            wx = _ramp(tw, fade, fade_start=x > 0, fade_end=x + tile < width)
            mask = (wy[:, None] * wx[None, :])[None, None]
            output[:, :, oy:oy + th, ox:ox + tw] += result * mask
            weight[:, :, oy:oy + th, ox:ox + tw] += mask
            done += 1
            if progress is not None:
                progress(done, total)
    return output / weight.clamp(min=1e-8)
