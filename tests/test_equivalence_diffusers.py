"""Loom's sampling equals the diffusers pipelines on the same tiny weights and noise.

Each test runs engine.sampling.ksampler.sample and the matching diffusers pipeline
with the same prompt embeddings, the same initial noise (latents=) and the diffusers
scheduler configured as docs/SAMPLERS.md maps the ComfyUI sampler/scheduler pair.
Images are compared after decoding: max difference <= 2/255.
"""
import pytest
import torch

from engine.model import DiffusionModel
from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.ksampler import sample, sampling_sigmas
from engine.vae import VAE
from tests.tiny_models import tiny_sd_components

TOLERANCE = 2 / 255
SD_BETAS = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


def _noise(shape, seed):
    return torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed))


def _embeddings(seed, width=32, tokens=77):
    generator = torch.Generator("cpu").manual_seed(seed)
    return torch.randn(1, tokens, width, generator=generator), torch.randn(1, tokens, width, generator=generator)


pytestmark = pytest.mark.usefixtures("cpu_fp32")  # the diffusers references run on CPU, fp32


@pytest.fixture(scope="module")
def sd1():
    return tiny_sd_components("sd1")


def _sd_pipeline(cls, components, scheduler, **extra):
    return cls(vae=components["vae"], text_encoder=components["text_encoder"], tokenizer=components["tokenizer"],
               unet=components["unet"], scheduler=scheduler, safety_checker=None, feature_extractor=None,
               requires_safety_checker=False, **extra).to("cpu")


def _diffusers_images(pipe, **kwargs):
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        images = pipe(output_type="pt", **kwargs).images
    return images.permute(0, 2, 3, 1).float()


def _loom_images(components, model, **kwargs):
    latent = sample(model, **kwargs)
    return VAE(components["vae"]).decode(latent["samples"])


def _sigmas(model, scheduler, steps, denoise=1.0):
    return sampling_sigmas(DiscreteSchedule(model.sigmas), scheduler, steps, denoise)


def _integer_timesteps(model, sigma_schedule):
    timesteps = DiscreteSchedule(model.sigmas).timestep(sigma_schedule[:-1])
    assert torch.allclose(timesteps, timesteps.round(), atol=1e-3), "schedule is not on integer timesteps"
    return [int(t) for t in timesteps.round()]


def _scheduler_for(sampler_name, model, sigma_schedule):
    """(diffusers scheduler, kwargs for the pipeline call) for a ComfyUI sampler + sigmas (docs/SAMPLERS.md)."""
    from diffusers import (DPMSolverMultistepScheduler, EulerDiscreteScheduler, HeunDiscreteScheduler,
                           UniPCMultistepScheduler)

    if sampler_name == "euler":
        return (EulerDiscreteScheduler(**SD_BETAS, timestep_spacing="leading"),
                {"sigmas": sigma_schedule.tolist()})
    if sampler_name == "heun":
        return HeunDiscreteScheduler(**SD_BETAS), {"timesteps": _integer_timesteps(model, sigma_schedule)}
    if sampler_name == "dpmpp_2m":
        scheduler = DPMSolverMultistepScheduler(**SD_BETAS, algorithm_type="dpmsolver++", solver_order=2,
                                                final_sigmas_type="zero", lower_order_final=True)
        return scheduler, {"timesteps": _integer_timesteps(model, sigma_schedule)}
    if sampler_name == "uni_pc_bh2":  # diffusers takes no custom sigmas here: its linspace = sgm_uniform
        scheduler = UniPCMultistepScheduler(**SD_BETAS, solver_order=3, solver_type="bh2",
                                            lower_order_final=True, final_sigmas_type="zero",
                                            timestep_spacing="linspace")
        return scheduler, {"num_inference_steps": len(sigma_schedule) - 1}
    raise AssertionError(sampler_name)


@pytest.mark.parametrize("scheduler", ["normal", "karras", "exponential", "simple"])
def test_txt2img_euler_equals_stable_diffusion_pipeline(sd1, scheduler):
    from diffusers import StableDiffusionPipeline

    model = DiffusionModel(sd1["unet"], "sd1")
    positive, negative = _embeddings(3)
    steps, cfg, seed = 6, 7.5, 1234
    ours = _loom_images(sd1, model, seed=seed, steps=steps, cfg=cfg, sampler_name="euler", scheduler=scheduler,
                        positive=[[positive, {}]], negative=[[negative, {}]],
                        latent={"samples": torch.zeros(1, 4, 8, 8)})
    diffusers_scheduler, call = _scheduler_for("euler", model, _sigmas(model, scheduler, steps))
    pipe = _sd_pipeline(StableDiffusionPipeline, sd1, diffusers_scheduler)
    theirs = _diffusers_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                               latents=_noise((1, 4, 8, 8), seed), height=64, width=64, **call)
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert ours.std() > 0.01  # a real image, not a constant
    assert (ours - theirs).abs().max() <= TOLERANCE


@pytest.mark.parametrize("sampler_name, scheduler, steps", [
    ("heun", "simple", 5),
    ("dpmpp_2m", "simple", 8),
    ("uni_pc_bh2", "sgm_uniform", 9),  # 999/9 = 111: diffusers' linspace timesteps are integers
])
def test_txt2img_other_samplers_equal_diffusers(sd1, sampler_name, scheduler, steps):
    from diffusers import StableDiffusionPipeline

    model = DiffusionModel(sd1["unet"], "sd1")
    positive, negative = _embeddings(4)
    cfg, seed = 6.0, 77
    ours = _loom_images(sd1, model, seed=seed, steps=steps, cfg=cfg, sampler_name=sampler_name,
                        scheduler=scheduler, positive=[[positive, {}]], negative=[[negative, {}]],
                        latent={"samples": torch.zeros(1, 4, 8, 8)})
    diffusers_scheduler, call = _scheduler_for(sampler_name, model, _sigmas(model, scheduler, steps))
    pipe = _sd_pipeline(StableDiffusionPipeline, sd1, diffusers_scheduler)
    theirs = _diffusers_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                               latents=_noise((1, 4, 8, 8), seed), height=64, width=64, **call)
    assert ours.std() > 0.01
    assert (ours - theirs).abs().max() <= TOLERANCE


def _test_image(seed=21):
    """A smooth 64x64 test picture in 0..1, [1,64,64,3]."""
    generator = torch.Generator("cpu").manual_seed(seed)
    coarse = torch.rand(1, 3, 4, 4, generator=generator)
    return torch.nn.functional.interpolate(coarse, size=(64, 64), mode="bilinear").permute(0, 2, 3, 1)


def test_img2img_equals_img2img_pipeline(sd1):
    from diffusers import StableDiffusionImg2ImgPipeline

    model = DiffusionModel(sd1["unet"], "sd1")
    vae = VAE(sd1["vae"])
    init_latent = vae.encode(_test_image())
    positive, negative = _embeddings(5)
    steps, denoise, cfg, seed = 4, 0.5, 7.0, 99
    ours = vae.decode(sample(model, seed, steps, cfg, "euler", "normal", [[positive, {}]], [[negative, {}]],
                             {"samples": init_latent}, denoise=denoise)["samples"])
    total_steps = int(steps / denoise)
    scheduler, call = _scheduler_for("euler", model, _sigmas(model, "normal", total_steps))
    pipe = _sd_pipeline(StableDiffusionImg2ImgPipeline, sd1, scheduler)
    # the latent goes in as `image` (not re-encoded); the noise comes from the same seeded CPU generator
    theirs = _diffusers_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                               image=init_latent, strength=denoise,
                               generator=torch.Generator("cpu").manual_seed(seed), **call)
    assert (ours - theirs).abs().max() <= TOLERANCE
    untouched = vae.decode(init_latent)
    assert (ours - untouched).abs().max() > 0.01  # sampling did change the picture


def test_inpainting_unet_equals_inpaint_pipeline():
    from diffusers import StableDiffusionInpaintPipeline

    components = tiny_sd_components("sd1", in_channels=9)
    model = DiffusionModel(components["unet"], "sd1")
    assert model.in_channels == 9
    vae = VAE(components["vae"])
    image = _test_image(22)
    mask = torch.zeros(1, 64, 64)
    mask[:, 16:48, 24:56] = 1.0  # aligned to 8 px: nearest and bilinear downscaling agree
    masked_latent = vae.encode(image * (1 - mask[..., None]) + 0.5 * mask[..., None])
    positive, negative = _embeddings(6)
    extras = {"concat_latent_image": masked_latent, "concat_mask": mask}
    steps, cfg, seed = 5, 6.0, 5
    ours = vae.decode(sample(model, seed, steps, cfg, "euler", "karras", [[positive, dict(extras)]],
                             [[negative, dict(extras)]], {"samples": torch.zeros(1, 4, 8, 8)})["samples"])
    scheduler, call = _scheduler_for("euler", model, _sigmas(model, "karras", steps))
    pipe = _sd_pipeline(StableDiffusionInpaintPipeline, components, scheduler)
    theirs = _diffusers_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                               image=image.permute(0, 3, 1, 2), mask_image=mask[:, None],
                               masked_image_latents=masked_latent, latents=_noise((1, 4, 8, 8), seed),
                               height=64, width=64, strength=1.0, **call)
    assert (ours - theirs).abs().max() <= TOLERANCE
    plain = vae.decode(sample(model, seed, steps, cfg, "euler", "karras", [[positive, {}]], [[negative, {}]],
                              {"samples": torch.zeros(1, 4, 8, 8)})["samples"])
    assert (ours - plain).abs().max() > 0.01  # the mask and image channels matter


def test_sdxl_txt2img_equals_sdxl_pipeline():
    from diffusers import StableDiffusionXLPipeline

    components = tiny_sd_components("sdxl")
    model = DiffusionModel(components["unet"], "sdxl")
    generator = torch.Generator("cpu").manual_seed(8)
    positive, negative = torch.randn(1, 77, 64, generator=generator), torch.randn(1, 77, 64, generator=generator)
    pooled, negative_pooled = torch.randn(1, 64, generator=generator), torch.randn(1, 64, generator=generator)
    steps, cfg, seed = 5, 5.0, 31
    latent = sample(model, seed, steps, cfg, "euler", "normal", [[positive, {"pooled_output": pooled}]],
                    [[negative, {"pooled_output": negative_pooled}]], {"samples": torch.zeros(1, 4, 8, 8)})
    ours = VAE(components["vae"], "sdxl").decode(latent["samples"])
    scheduler, call = _scheduler_for("euler", model, _sigmas(model, "normal", steps))
    pipe = StableDiffusionXLPipeline(vae=components["vae"], text_encoder=components["text_encoder"],
                                     text_encoder_2=components["text_encoder_2"], tokenizer=components["tokenizer"],
                                     tokenizer_2=components["tokenizer_2"], unet=components["unet"],
                                     scheduler=scheduler).to("cpu")
    theirs = _diffusers_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative,
                               pooled_prompt_embeds=pooled, negative_pooled_prompt_embeds=negative_pooled,
                               guidance_scale=cfg, latents=_noise((1, 4, 8, 8), seed), height=64, width=64, **call)
    assert ours.std() > 0.01
    assert (ours - theirs).abs().max() <= TOLERANCE
    # the size conditions reach the UNet: another original size gives another picture
    resized = sample(model, seed, steps, cfg, "euler", "normal",
                     [[positive, {"pooled_output": pooled, "width": 1024, "height": 1024}]],
                     [[negative, {"pooled_output": negative_pooled}]], {"samples": torch.zeros(1, 4, 8, 8)})
    assert not torch.allclose(resized["samples"], latent["samples"])


def test_v_prediction_equals_pipeline_with_v_prediction_scheduler():
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline

    components = tiny_sd_components("sd2")
    model = DiffusionModel(components["unet"], "sd2", prediction_type="v_prediction")
    positive, negative = _embeddings(9)
    steps, cfg, seed = 5, 7.0, 4
    ours = _loom_images(components, model, seed=seed, steps=steps, cfg=cfg, sampler_name="euler", scheduler="karras",
                        positive=[[positive, {}]], negative=[[negative, {}]],
                        latent={"samples": torch.zeros(1, 4, 8, 8)})
    scheduler = EulerDiscreteScheduler(**SD_BETAS, timestep_spacing="leading", prediction_type="v_prediction")
    pipe = _sd_pipeline(StableDiffusionPipeline, components, scheduler)
    theirs = _diffusers_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                               latents=_noise((1, 4, 8, 8), seed), height=64, width=64,
                               sigmas=_sigmas(model, "karras", steps).tolist())
    assert (ours - theirs).abs().max() <= TOLERANCE


def test_ddim_with_ddim_uniform_equals_ddim_scheduler(sd1):
    """ComfyUI's `ddim` is the Euler step; on `ddim_uniform` sigmas it is diffusers' DDIM (eta 0)."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    model = DiffusionModel(sd1["unet"], "sd1")
    positive, negative = _embeddings(12)
    steps, cfg, seed = 10, 7.0, 21
    ours = _loom_images(sd1, model, seed=seed, steps=steps, cfg=cfg, sampler_name="ddim", scheduler="ddim_uniform",
                        positive=[[positive, {}]], negative=[[negative, {}]],
                        latent={"samples": torch.zeros(1, 4, 8, 8)})
    scheduler = DDIMScheduler(**SD_BETAS, set_alpha_to_one=True, steps_offset=1, timestep_spacing="leading")
    pipe = _sd_pipeline(StableDiffusionPipeline, sd1, scheduler)
    # ddim_uniform starts below sigma_max, so ComfyUI (and Loom) scale the noise by sigma_0, not
    # sqrt(1 + sigma_0^2); DDIM's x_T is in the variance-preserving space: divide by sqrt(1 + sigma_0^2).
    sigma_0 = float(_sigmas(model, "ddim_uniform", steps)[0])
    start = _noise((1, 4, 8, 8), seed) * sigma_0 / (1 + sigma_0 ** 2) ** 0.5
    theirs = _diffusers_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                               latents=start, height=64, width=64, num_inference_steps=steps, eta=0.0)
    assert (ours - theirs).abs().max() <= TOLERANCE
