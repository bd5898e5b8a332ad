"""An interrupt reaches long single operations: a huge VAE decode/encode stops between pieces."""

import threading
import time

import pytest
import torch

from graph import context
from graph.errors import Interrupted
from nodes.vae import VAEDecode, VAEEncode
from engine.vae import VAE
from tests.tiny_models import tiny_vae


@pytest.fixture
def running_node():
    stop = threading.Event()
    token = context.activate(context.ExecutionContext("p", "8", interrupt_event=stop))
    yield stop
    context.deactivate(token)


def _interrupt_after(stop, seconds):
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    return timer


def test_interrupt_ends_a_huge_decode_after_at_most_one_piece(running_node, cpu_fp32):
    """A 4096 px decode is hundreds of 256 px tiles; the interrupt must not wait for them
    all. Measured against one tile's time on this machine (2 s on an idle 2-core CPU)."""
    import engine.vae

    vae = VAE(tiny_vae())
    started = time.monotonic()
    vae.decode(torch.zeros(1, 4, engine.vae.AUTO_TILE // 8, engine.vae.AUTO_TILE // 8))
    one_tile = time.monotonic() - started
    latent = {"samples": torch.zeros(1, 4, 512, 512)}   # a 4096 x 4096 image
    _interrupt_after(running_node, 0.5)
    started = time.monotonic()
    with pytest.raises(Interrupted):
        VAEDecode().decode(vae, latent)
    assert time.monotonic() - started < 0.5 + 2 * one_tile + 1.0


def test_interrupt_ends_a_large_batch_encode_between_chunks(running_node, cpu_fp32):
    vae = VAE(tiny_vae())
    images = torch.rand(24, 512, 512, 3)      # 12 chunks of 2 images
    started = time.monotonic()
    vae.encode(images[:2])
    one_chunk = time.monotonic() - started
    _interrupt_after(running_node, 0.3)
    started = time.monotonic()
    with pytest.raises(Interrupted):
        VAEEncode().encode(vae, images)
    assert time.monotonic() - started < 0.3 + 2 * one_chunk + 1.0


def test_images_above_the_limit_decode_in_tiles_like_decode_tiled(cpu_fp32, monkeypatch):
    import engine.vae

    monkeypatch.setattr(engine.vae, "TILED_ABOVE_PIXELS", 32 * 32)
    monkeypatch.setattr(engine.vae, "AUTO_TILE", 32)
    monkeypatch.setattr(engine.vae, "AUTO_OVERLAP", 8)
    vae = VAE(tiny_vae())
    latents = torch.randn(1, 4, 6, 8, generator=torch.Generator().manual_seed(0))
    calls = []
    decoded = vae.decode(latents, progress=lambda done, total: calls.append((done, total)))
    assert torch.equal(decoded, vae.decode_tiled(latents, 32, 8))
    assert len(calls) > 1 and calls[-1][0] == calls[-1][1]
    images = torch.rand(1, 48, 64, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(vae.encode(images), vae.encode_tiled(images, 32, 8))


def test_image_scaling_stops_between_batch_items(running_node, monkeypatch):
    import engine.images
    from nodes.image import ImageScale

    calls = []
    original = engine.images.resize_image

    def counting(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            running_node.set()
        return original(*args, **kwargs)

    monkeypatch.setattr(engine.images, "resize_image", counting)
    with pytest.raises(Interrupted):
        ImageScale().upscale(torch.rand(6, 32, 32, 3), "bilinear", 64, 64, "disabled")
    assert len(calls) == 2
    running_node.clear()
    scaled = ImageScale().upscale(torch.rand(3, 32, 32, 3), "bilinear", 48, 40, "disabled")[0]
    assert scaled.shape == (3, 40, 48, 3)
