"""Text-to-video: a diffusers UNet3DConditionModel folder through the checkpoint loaders,
EmptyLatentVideo, the same KSampler and VAEDecode, equal to diffusers' TextToVideoSDPipeline."""
import pytest
import torch

from engine.model import DiffusionModel
from engine.sampling.ksampler import sample
from engine.vae import VAE
from nodes.video import EmptyLatentVideo
from tests.tiny_models import tiny_sd_components
from tests.tiny_video import save_video_folder, tiny_video_components

TOLERANCE = 2 / 255
pytestmark = pytest.mark.usefixtures("cpu_fp32")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one thread avoids waiting on a second one that a busy CPU rarely runs."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def video():
    return tiny_video_components()


def _noise(shape, seed):
    return torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed))


def _embeddings(seed):
    generator = torch.Generator("cpu").manual_seed(seed)
    return torch.randn(1, 77, 32, generator=generator), torch.randn(1, 77, 32, generator=generator)


def _pipeline_frames(components, positive, negative, cfg, steps, frames, seed, batch=1):
    """TextToVideoSDPipeline with Euler on linspace timesteps (= Loom's euler + normal at 4 or 10 steps)."""
    from diffusers import EulerDiscreteScheduler, TextToVideoSDPipeline

    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       num_train_timesteps=1000, timestep_spacing="linspace")
    pipe = TextToVideoSDPipeline(vae=components["vae"], text_encoder=components["text_encoder"],
                                 tokenizer=components["tokenizer"], unet=components["unet"], scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        out = pipe(prompt_embeds=positive.expand(batch, -1, -1), negative_prompt_embeds=negative.expand(batch, -1, -1),
                   guidance_scale=cfg, num_frames=frames, height=64, width=64, num_inference_steps=steps,
                   latents=_noise((batch, 4, frames, 8, 8), seed), output_type="pt")
    return out.frames.permute(0, 1, 3, 4, 2).reshape(-1, 64, 64, 3).float()  # [B, F, C, H, W] -> [B*F, H, W, C]


@pytest.mark.parametrize("batch", [1, 2])
def test_video_sampling_equals_text_to_video_pipeline(video, batch):
    model = DiffusionModel(video["unet"], "sd2")
    positive, negative = _embeddings(3)
    frames, steps, cfg, seed = 4, 4, 7.0, 42
    (latent,) = EmptyLatentVideo().generate(64, 64, frames, batch)
    out = sample(model, seed, steps, cfg, "euler", "normal", [[positive, {}]], [[negative, {}]], latent)
    assert out["samples"].shape == (batch, 4, frames, 8, 8)
    ours = VAE(video["vae"]).decode(out["samples"])
    theirs = _pipeline_frames(video, positive, negative, cfg, steps, frames, seed, batch)
    assert ours.shape == theirs.shape == (batch * frames, 64, 64, 3)
    assert ours.std() > 0.05 and (ours[0] - ours[1]).abs().mean() > 0.01  # real, distinct frames
    assert (ours - theirs).abs().max() <= TOLERANCE


def test_the_step_callback_sees_video_latents_and_previews_the_first_frame(video):
    from engine.sampling.preview import latent_to_pil

    model = DiffusionModel(video["unet"], "sd2")
    positive, negative = _embeddings(2)
    (latent,) = EmptyLatentVideo().generate(64, 64, 3, 1)
    seen = []
    out = sample(model, 7, 2, 5.0, "euler", "normal", [[positive, {}]], [[negative, {}]], latent,
                 callback=lambda step, total, x0: seen.append((step, total, x0)))
    assert [(step, total) for step, total, _ in seen] == [(1, 2), (2, 2)]
    assert seen[-1][2].shape == (1, 4, 3, 8, 8) and torch.allclose(seen[-1][2], out["samples"])
    first_frame = latent_to_pil(seen[-1][2][:, :, 0], max_size=8)
    assert latent_to_pil(seen[-1][2], max_size=8).tobytes() == first_frame.tobytes()


def test_vae_decode_gives_every_frame_in_order(video):
    from nodes.vae import VAEDecode

    vae = VAE(video["vae"])
    samples = _noise((2, 4, 3, 8, 8), 5)
    (images,) = VAEDecode().decode(vae, {"samples": samples})
    assert images.shape == (6, 64, 64, 3)
    for index, (b, f) in enumerate([(b, f) for b in range(2) for f in range(3)]):
        assert torch.allclose(images[index], vae.decode(samples[b:b + 1, :, f])[0], atol=1e-5), (b, f)


def test_empty_latent_video_shape_and_checks():
    (latent,) = EmptyLatentVideo().generate(256, 128, 16, 2)
    assert latent["samples"].shape == (2, 4, 16, 16, 32) and not latent["samples"].any()
    assert EmptyLatentVideo.VALIDATE_INPUTS(width=100, height=64).startswith("width: 100 is not a multiple of 8")
    assert EmptyLatentVideo.VALIDATE_INPUTS(width=64, height=64) is True
    with pytest.raises(ValueError, match="length: expected a whole number of at least 1"):
        EmptyLatentVideo().generate(64, 64, 0, 1)


def test_an_image_model_refuses_a_video_latent():
    model = DiffusionModel(tiny_sd_components("sd1")["unet"], "sd1")
    positive, negative = _embeddings(1)
    (latent,) = EmptyLatentVideo().generate(64, 64, 2, 1)
    with pytest.raises(ValueError, match="latent_image: a video latent .* needs a text-to-video model"):
        sample(model, 1, 2, 7.0, "euler", "normal", [[positive, {}]], [[negative, {}]], latent)


@pytest.mark.parametrize("folder, loader", [("checkpoints", "CheckpointLoaderSimple"), ("diffusers", "DiffusersLoader")])
def test_loaders_read_a_text_to_video_folder(video, tmp_folders, tmp_path, folder, loader):
    from engine import model_cache
    from nodes.loaders import CheckpointLoaderSimple, DiffusersLoader

    model_cache.configure()
    save_video_folder(video, tmp_path / "models" / folder / "text-to-video-ms-1.7b")
    if loader == "CheckpointLoaderSimple":
        assert "text-to-video-ms-1.7b" in CheckpointLoaderSimple.INPUT_TYPES()["required"]["ckpt_name"][0]
        model, clip, vae = CheckpointLoaderSimple().load_checkpoint("text-to-video-ms-1.7b")
    else:
        assert DiffusersLoader.INPUT_TYPES()["required"]["model_path"][0] == ["text-to-video-ms-1.7b"]
        model, clip, vae = DiffusersLoader().load_checkpoint("text-to-video-ms-1.7b")
    assert model.is_video and type(model.unet).__name__ == "UNet3DConditionModel"
    assert clip.arch == "sd2" and vae.latent_channels == 4
    for name, loaded in (("unet", model.unet), ("vae", vae.autoencoder)):
        reference = video[name].state_dict()
        assert all(torch.equal(value, reference[key]) for key, value in loaded.state_dict().items()), name
    cond, _ = clip.encode("a cat walking")
    assert cond.shape == (1, 77, 32)


def test_diffusers_loader_names_a_missing_folder(tmp_folders):
    from nodes.loaders import DiffusersLoader

    with pytest.raises(ValueError, match="model_path: model folder 'nope' not found in models/diffusers"):
        DiffusersLoader().load_checkpoint("nope")
