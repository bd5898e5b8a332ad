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
