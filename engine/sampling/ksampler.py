"""KSampler and custom sampling: noise a latent, run a sampler along sigmas with a guided denoiser."""
from __future__ import annotations

import math

import torch

from engine.controlnet.apply import models_on as controlnet_models_on
from engine.sampling.denoiser import Denoiser, resize_mask
from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.names import check_sampler_name, check_scheduler_name
from engine.sampling.guiders import CFGGuider
from engine.sampling.noise import DisableNoise, RandomNoise, step_noise
from engine.sampling.samplers import Sampler
from engine.sampling.schedulers import compute_sigmas
from engine.video import fold_latent, unfold_frames, unfold_latent


def sampling_sigmas(schedule: DiscreteSchedule, scheduler: str, steps: int, denoise: float = 1.0,
                    start_step=None, last_step=None, force_full_denoise=False) -> torch.Tensor:
    """The sigmas actually walked: denoise < 1 keeps the last steps of a longer schedule."""
    if denoise is None or denoise > 0.9999:
        sigmas = compute_sigmas(scheduler, schedule, steps)
    elif denoise <= 0.0:
        return torch.zeros(0)
    else:
        total_steps = int(steps / denoise)
        sigmas = compute_sigmas(scheduler, schedule, total_steps)[-(steps + 1):]
    if last_step is not None and last_step < len(sigmas) - 1:
        sigmas = sigmas[:last_step + 1].clone()
        if force_full_denoise:
            sigmas[-1] = 0.0
    if start_step is not None:
        sigmas = sigmas[start_step:] if start_step < len(sigmas) - 1 else torch.zeros(0)
    return sigmas


def _device_and_dtype():
    try:
        from engine import devices
    except ImportError:  # devices module not present: plain CPU float32
        return torch.device("cpu"), torch.float32
    return devices.torch_device(), devices.unet_dtype()


class _KeepUnmasked:
    """Inpainting with an ordinary model: pin the unmasked area to the (noised) original."""

    def __init__(self, denoiser, latent_image, noise, mask):
        self.denoiser = denoiser
        self.latent_image = latent_image
        self.noise = noise
        self.mask = mask

    @property
    def keep_uncond(self):
        return self.denoiser.keep_uncond

    @keep_uncond.setter
    def keep_uncond(self, value):
        self.denoiser.keep_uncond = value

    @property
    def last_uncond(self):
        return self.denoiser.last_uncond

    def __call__(self, x, sigma):
        keep = 1.0 - self.mask
        x = x * self.mask + (self.latent_image + self.noise * sigma) * keep
        return self.denoiser(x, sigma) * self.mask + self.latent_image * keep


def sample(model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent: dict,
           denoise=1.0, start_step=None, last_step=None, add_noise=True,
           return_with_leftover_noise=False, callback=None, device=None, dtype=None) -> dict:
    """Run one KSampler pass and return a new LATENT dict (see docs/CONTRACTS.md).

    The same parts as the custom sampling nodes: BasicScheduler's sigmas, RandomNoise
    (or DisableNoise), KSamplerSelect's sampler and a CFGGuider, run by sample_custom.
    """
    check_sampler_name(sampler_name)
    check_scheduler_name(scheduler)
    _check_latent(latent, "latent_image")
    sigmas = sampling_sigmas(DiscreteSchedule(model.sigmas), scheduler, int(steps), denoise, start_step,
                             last_step, force_full_denoise=not return_with_leftover_noise)
    noise = RandomNoise(seed) if add_noise else DisableNoise(seed)
    out, _ = sample_custom(CFGGuider(model, positive, negative, cfg), noise, Sampler(sampler_name), sigmas,
                           latent, callback=callback, device=device, dtype=dtype)
    return out


def _check_latent(latent, input_name):
    if not isinstance(latent, dict) or not isinstance(latent.get("samples"), torch.Tensor):
        raise ValueError(f"{input_name}: expected a LATENT (a dict with a 'samples' tensor)")
    if latent["samples"].ndim not in (4, 5):
        raise ValueError(f"{input_name}: samples must be [B,C,H,W] (or [B,C,F,H,W] for video), "
                         f"got shape {tuple(latent['samples'].shape)}")


def sample_custom(guider, noise, sampler, sigmas, latent: dict, callback=None, device=None,
                  dtype=None, input_name="latent_image") -> tuple[dict, dict]:
    """Denoise `latent` along `sigmas` -> (output, denoised_output) LATENT dicts.

    guider: engine.sampling.guiders; noise: engine.sampling.noise.RandomNoise/DisableNoise;
    sampler: engine.sampling.samplers.Sampler; sigmas: 1-D descending tensor. denoised_output
    is the model's x0 prediction at the last step (the output itself when nothing ran).
    """
    _check_latent(latent, input_name)
    latent, channels = fold_latent(latent, guider.model, input_name)
    if channels is not None:  # video: sample with the frames folded into channels (engine/video.py)
        video_callback = None if callback is None else (
            lambda step, total, x0: callback(step, total, unfold_frames(x0, channels)))
        out, denoised = sample_custom(guider, noise, sampler, sigmas, latent, video_callback, device, dtype,
                                      input_name)
        return unfold_latent(out, channels), unfold_latent(denoised, channels)
    latent_image = latent["samples"].float()
    if device is None or dtype is None:
        default_device, default_dtype = _device_and_dtype()
        device, dtype = device or default_device, dtype or default_dtype
    model = guider.model
    schedule = DiscreteSchedule(model.sigmas)
    sigmas = torch.as_tensor(sigmas, dtype=torch.float32).reshape(-1)
    out = dict(latent)
    if len(sigmas) < 2:
        out["samples"] = latent_image.clone()
        return out, out

    noise_tensor = noise.generate(latent).float()
    mask = latent.get("noise_mask")
    if mask is not None:
        batch, _, height, width = latent_image.shape
        mask = resize_mask(mask, batch, height, width).to(device)

    latent_on_device = latent_image.to(device)
    noise_on_device = noise_tensor.to(device)
    sigma_first = float(sigmas[0])
    starts_from_pure_noise = math.isclose(sigma_first, schedule.sigma_max, rel_tol=1e-5) or sigma_first > schedule.sigma_max
    noise_scale = math.sqrt(1.0 + sigma_first ** 2) if starts_from_pure_noise else sigma_first
    x = latent_on_device + noise_on_device * noise_scale

    total = len(sigmas) - 1
    last_denoised = []

    def step_callback(i, x_now, denoised):
        last_denoised[:] = [denoised]
        if callback is not None:
            callback(i + 1, total, denoised)

    conditionings = list(guider.groups.values())
    with torch.no_grad(), model.patched(device, dtype) as unet, \
            controlnet_models_on(conditionings, model, device, dtype):
        denoiser = Denoiser(model, unet, schedule, None, None, None, latent_image.shape, device, dtype,
                            latent_image=latent_on_device, noise_mask=mask, guider=guider)
        guided = denoiser if mask is None else _KeepUnmasked(denoiser, latent_on_device, noise_on_device, mask)
        samples = sampler(guided, x, sigmas, step_callback, step_noise(noise.seed, x))
    if mask is not None:
        samples = samples * mask + latent_on_device * (1.0 - mask)
    out["samples"] = samples.float().cpu()
    denoised_out = dict(latent)
    denoised_out["samples"] = last_denoised[0].float().cpu() if last_denoised else out["samples"]
    return out, denoised_out
