"""KSampler: noise a latent, pick the sigmas, run a sampler with the guided denoiser."""
from __future__ import annotations

import math

import torch

from engine.controlnet.apply import models_on as controlnet_models_on
from engine.sampling.denoiser import Denoiser, resize_mask
from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.names import check_sampler_name, check_scheduler_name
from engine.sampling.noise import initial_noise, step_noise
from engine.sampling.samplers import get_sampler
from engine.sampling.schedulers import compute_sigmas


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
    """Run one KSampler pass and return a new LATENT dict (see docs/CONTRACTS.md)."""
    check_sampler_name(sampler_name)
    check_scheduler_name(scheduler)
    if not isinstance(latent, dict) or not isinstance(latent.get("samples"), torch.Tensor):
        raise ValueError("latent_image: expected a LATENT (a dict with a 'samples' tensor)")
    latent_image = latent["samples"].float()
    if latent_image.ndim != 4:
        raise ValueError(f"latent_image: samples must be [B,C,H,W], got shape {tuple(latent_image.shape)}")
    if device is None or dtype is None:
        default_device, default_dtype = _device_and_dtype()
        device, dtype = device or default_device, dtype or default_dtype

    schedule = DiscreteSchedule(model.sigmas)
    sigmas = sampling_sigmas(schedule, scheduler, int(steps), denoise, start_step, last_step,
                             force_full_denoise=not return_with_leftover_noise)
    out = dict(latent)
    if len(sigmas) < 2:
        out["samples"] = latent_image.clone()
        return out

    if add_noise:
        noise = initial_noise(latent_image, seed, latent.get("batch_index"))
    else:
        noise = torch.zeros_like(latent_image)
    mask = latent.get("noise_mask")
    if mask is not None:
        batch, _, height, width = latent_image.shape
        mask = resize_mask(mask, batch, height, width).to(device)

    latent_on_device = latent_image.to(device)
    noise_on_device = noise.to(device)
    sigma_first = float(sigmas[0])
    starts_from_pure_noise = math.isclose(sigma_first, schedule.sigma_max, rel_tol=1e-5) or sigma_first > schedule.sigma_max
    noise_scale = math.sqrt(1.0 + sigma_first ** 2) if starts_from_pure_noise else sigma_first
    x = latent_on_device + noise_on_device * noise_scale

    total = len(sigmas) - 1
    step_callback = None
    if callback is not None:
        def step_callback(i, x_now, denoised):
            callback(i + 1, total, denoised)

    sampler = get_sampler(sampler_name)
    with torch.no_grad(), model.patched(device, dtype) as unet, \
            controlnet_models_on([positive, negative], model, device, dtype):
        denoiser = Denoiser(model, unet, schedule, positive, negative, cfg, latent_image.shape,
                            device, dtype, latent_image=latent_on_device, noise_mask=mask)
        guided = denoiser if mask is None else _KeepUnmasked(denoiser, latent_on_device, noise_on_device, mask)
        samples = sampler(guided, x, sigmas, step_callback, step_noise(seed, x))
    if mask is not None:
        samples = samples * mask + latent_on_device * (1.0 - mask)
    out["samples"] = samples.float().cpu()
    return out
