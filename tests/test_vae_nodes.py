"""VAE nodes on a real tiny AutoencoderKL: encode/decode, crops, inpainting encoders."""

import pytest
import torch

from engine.vae import VAE
from nodes.vae import (
    InpaintModelConditioning, VAEDecode, VAEDecodeTiled, VAEEncode, VAEEncodeForInpaint,
    VAEEncodeTiled,
)
from tests.tiny_models import tiny_vae


@pytest.fixture(scope="module")
def vae():
    return VAE(tiny_vae())


def _image(height=64, width=64, batch=1):
    return torch.rand(batch, height, width, 3, generator=torch.Generator().manual_seed(height + width))


def test_encode_then_decode_shapes(vae):
    pixels = _image(batch=2)
    before = pixels.clone()
    (latent,) = VAEEncode().encode(vae, pixels)
    assert latent["samples"].shape == (2, 4, 8, 8)
    assert torch.equal(pixels, before)
    (images,) = VAEDecode().decode(vae, latent)
    assert images.shape == (2, 64, 64, 3)
    torch.testing.assert_close(images, vae.decode(latent["samples"]))


def test_encode_centre_crops_to_a_multiple_of_8(vae):
    pixels = _image(height=70, width=77)
    (latent,) = VAEEncode().encode(vae, pixels)
    assert latent["samples"].shape == (1, 4, 8, 9)
    # 70 -> 64 rows starting at (70 % 8) // 2 = 3; 77 -> 72 columns starting at 2
    expected = vae.encode(pixels[:, 3:67, 2:74])
    torch.testing.assert_close(latent["samples"], expected)


def test_encode_ignores_an_alpha_channel(vae):
    rgb = _image()
    rgba = torch.cat([rgb, torch.zeros(1, 64, 64, 1)], dim=-1)
    torch.testing.assert_close(VAEEncode().encode(vae, rgba)[0]["samples"], vae.encode(rgb))


def test_tiled_nodes_match_the_engine(vae):
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    (images,) = VAEDecodeTiled().decode(vae, {"samples": latents}, 64, 64, 64, 8)
    # overlap is limited to a quarter of the tile, like ComfyUI
    torch.testing.assert_close(images, vae.decode_tiled(latents, tile_size=64, overlap=16))
    (latent,) = VAEEncodeTiled().encode(vae, images, 64, 0, 64, 8)
    torch.testing.assert_close(latent["samples"], vae.encode_tiled(images, tile_size=64, overlap=0))


def test_encode_for_inpaint_greys_out_the_mask_and_grows_the_noise_mask(vae):
    pixels = _image()
    mask = torch.zeros(1, 64, 64)
    mask[:, 24:40, 24:40] = 1.0
    before = pixels.clone(), mask.clone()
    (latent,) = VAEEncodeForInpaint().encode(vae, pixels, mask, grow_mask_by=6)
    assert torch.equal(pixels, before[0]) and torch.equal(mask, before[1])
    greyed = pixels.clone()
    greyed[:, 24:40, 24:40] = 0.5
    torch.testing.assert_close(latent["samples"], vae.encode(greyed))
    noise_mask = latent["noise_mask"]
    assert noise_mask.shape == (1, 1, 64, 64)
    # a 6x6 box kernel with padding 3 (as ComfyUI): output o sees inputs o-3..o+2,
    # so rows/columns 24..39 grow to 22..42; the mask stays binary
    assert set(noise_mask.unique().tolist()) == {0.0, 1.0}
    assert noise_mask[0, 0, 22:43, 22:43].eq(1).all()
    assert noise_mask[0, 0, 21].eq(0).all() and noise_mask[0, 0, 43].eq(0).all()
    assert noise_mask[0, 0, :, 21].eq(0).all() and noise_mask[0, 0, :, 43].eq(0).all()


def test_encode_for_inpaint_without_growth_and_with_a_small_mask(vae):
    pixels = _image(height=64, width=64)
    mask = torch.zeros(1, 8, 8)
    mask[:, :4] = 1.0  # top half, at a lower resolution: resized to the image
    (latent,) = VAEEncodeForInpaint().encode(vae, pixels, mask, grow_mask_by=0)
    assert latent["noise_mask"][0, 0, :28].eq(1).all() and latent["noise_mask"][0, 0, 36:].eq(0).all()


def test_inpaint_model_conditioning_extras(vae):
    pixels = _image()
    mask = torch.zeros(1, 64, 64)
    mask[:, :, 32:] = 1.0
    cond = torch.randn(1, 77, 32)
    positive = [[cond, {"pooled_output": torch.zeros(1, 32)}]]
    negative = [[torch.zeros(1, 77, 32), {}]]
    positive_before = dict(positive[0][1])
    out_positive, out_negative, latent = InpaintModelConditioning().encode(
        positive, negative, pixels, vae, mask, noise_mask=True
    )
    assert positive[0][1] == positive_before  # input dicts untouched
    greyed = pixels.clone()
    greyed[:, :, 32:] = 0.5
    for entry in (out_positive[0], out_negative[0]):
        torch.testing.assert_close(entry[1]["concat_latent_image"], vae.encode(greyed))
        assert entry[1]["concat_mask"].shape == (1, 1, 64, 64)
        assert torch.equal(entry[1]["concat_mask"][0, 0], mask[0])
    assert out_positive[0][0] is cond and "pooled_output" in out_positive[0][1]
    torch.testing.assert_close(latent["samples"], vae.encode(pixels))
    assert torch.equal(latent["noise_mask"][0, 0], mask[0])
    _, _, no_mask = InpaintModelConditioning().encode(positive, negative, pixels, vae, mask, noise_mask=False)
    assert "noise_mask" not in no_mask


def test_wrong_inputs_are_clear_errors(vae):
    with pytest.raises(ValueError, match="samples:"):
        VAEDecode().decode(vae, torch.zeros(1, 4, 8, 8))
    with pytest.raises(ValueError, match="vae:"):
        VAEDecode().decode("not a vae", {"samples": torch.zeros(1, 4, 8, 8)})
    with pytest.raises(ValueError, match="pixels:"):
        VAEEncode().encode(vae, torch.rand(1, 4, 4, 3))


def test_tiled_decode_reports_progress_to_the_running_node(vae):
    from graph import context

    events = []
    running = context.ExecutionContext("p1", "7", emit=lambda event, data, client: events.append((event, data)))
    token = context.activate(running)
    try:
        latents = torch.randn(1, 4, 8, 16, generator=torch.Generator().manual_seed(1))
        VAEDecodeTiled().decode(vae, {"samples": latents}, 64, 0, 64, 8)
    finally:
        context.deactivate(token)
    progress = [data for event, data in events if event == "progress"]
    assert [(p["value"], p["max"]) for p in progress] == [(1, 2), (2, 2)]
    assert progress[0]["node"] == "7" and progress[0]["prompt_id"] == "p1"
