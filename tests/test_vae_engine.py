"""engine.vae.VAE against diffusers' AutoencoderKL, batching and tiling."""

import pytest
import torch

from engine.vae import VAE, _run_tiled
from tests.tiny_models import tiny_vae


@pytest.fixture(scope="module")
def autoencoder():
    return tiny_vae()


def _smooth_image(batch=1, size=64):
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    image = torch.stack([xs, ys, (xs + ys) / 2], dim=-1)
    return image[None].repeat(batch, 1, 1, 1)


def test_encode_matches_diffusers_mean_times_scaling_factor(autoencoder):
    images = torch.rand(2, 64, 64, 3, generator=torch.Generator().manual_seed(0))
    latents = VAE(autoencoder).encode(images)
    with torch.no_grad():
        mean = autoencoder.encode(images.permute(0, 3, 1, 2) * 2 - 1).latent_dist.mean
    assert latents.shape == (2, 4, 8, 8)
    torch.testing.assert_close(latents, mean * 0.18215, rtol=1e-5, atol=1e-6)


def test_decode_matches_diffusers_after_unscaling(autoencoder):
    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    images = VAE(autoencoder).decode(latents)
    with torch.no_grad():
        expected = autoencoder.decode(latents / 0.18215).sample
    expected = ((expected + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1)
    assert images.shape == (2, 64, 64, 3) and images.dtype == torch.float32
    torch.testing.assert_close(images, expected, rtol=1e-5, atol=1e-6)


def test_properties_come_from_the_config(autoencoder):
    vae = VAE(autoencoder, "sd1")
    assert vae.scaling_factor == pytest.approx(0.18215)
    assert vae.shift_factor == 0.0
    assert vae.latent_channels == 4 and vae.downscale_ratio == 8


def test_batches_are_split_without_changing_results(autoencoder, monkeypatch):
    import engine.vae as vae_module

    images = torch.rand(3, 64, 64, 3, generator=torch.Generator().manual_seed(2))
    vae = VAE(autoencoder)
    whole = vae.encode(images)
    monkeypatch.setattr(vae_module, "_PIXELS_PER_CALL", 64 * 64)  # one image per call
    split = vae.encode(images)
    torch.testing.assert_close(split, whole, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(vae.decode(whole), VAE(autoencoder).decode(whole), rtol=1e-5, atol=1e-6)


def test_wrong_latent_channels_is_a_clear_error(autoencoder):
    with pytest.raises(ValueError, match="samples: latents have 16 channels"):
        VAE(autoencoder).decode(torch.zeros(1, 16, 8, 8))


def test_tile_covering_the_whole_image_equals_plain_decode(autoencoder):
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    vae = VAE(autoencoder)
    torch.testing.assert_close(vae.decode_tiled(latents, tile_size=64, overlap=16), vae.decode(latents))


def test_tiled_decode_and_encode_shapes_on_non_square_input(autoencoder):
    vae = VAE(autoencoder)
    latents = torch.randn(2, 4, 8, 12, generator=torch.Generator().manual_seed(4))
    images = vae.decode_tiled(latents, tile_size=64, overlap=16)
    assert images.shape == (2, 64, 96, 3)
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert vae.encode_tiled(images, tile_size=64, overlap=16).shape == (2, 4, 8, 12)


def test_tile_blending_reproduces_a_local_operation_exactly():
    """With an operation that only looks at each pixel, tiles must blend back seamlessly."""
    source = torch.randn(2, 4, 24, 40, generator=torch.Generator().manual_seed(5))

    def upsample(piece):
        return torch.nn.functional.interpolate(torch.tanh(piece[:, :3]), scale_factor=8, mode="nearest")

    tiled = _run_tiled(source, tile=8, overlap=4, scale=8, out_channels=3, fn=upsample)
    torch.testing.assert_close(tiled, upsample(source))

    def downsample(piece):
        return torch.nn.functional.avg_pool2d(piece, 8)

    pixels = torch.randn(1, 3, 96, 128, generator=torch.Generator().manual_seed(6))
    tiled = _run_tiled(pixels, tile=32, overlap=16, scale=1 / 8, out_channels=3, fn=downsample)
    torch.testing.assert_close(tiled, downsample(pixels))


def test_overlap_blending_hides_seams_better_than_butted_tiles(autoencoder):
    """Seams show as jumps between neighbouring pixel rows; blended tiles jump less."""
    vae = VAE(autoencoder)
    latents = vae.encode(_smooth_image(size=256))

    def seam_jump(images):
        rows = (images[:, 1:] - images[:, :-1]).abs().mean(dim=(0, 2, 3))
        return rows[127].item()  # between pixel rows 127 and 128: a tile border at 128 px tiles

    butted = vae.decode_tiled(latents, tile_size=128, overlap=0)
    blended = vae.decode_tiled(latents, tile_size=128, overlap=64)
    assert seam_jump(blended) < seam_jump(butted)
