"""Samplers in k-diffusion style: each a short function over a denoiser.

Every sampler has the signature `sampler(model, x, sigmas, callback, noise)`:
  model(x, sigma) -> denoised x0 estimate
  x               the starting latent, already noised to sigmas[0]
  sigmas          descending noise levels, usually ending in 0
  callback(i, x, denoised)  after each step's first model call; may raise to stop
  noise(sigma, sigma_next) -> fresh standard normal noise shaped like x (seeded)
"""
from __future__ import annotations

import math

import numpy as np
import torch


def _to_d(x, sigma, denoised):
    """Derivative dx/dsigma of the probability-flow ODE."""
    return (x - denoised) / sigma


def _ancestral_step(sigma, sigma_next, eta=1.0):
    """Split a step into a deterministic part down to sigma_down plus fresh noise sigma_up."""
    if not eta or sigma_next == 0:
        return sigma_next, 0.0
    sigma_up = min(sigma_next, eta * math.sqrt(sigma_next ** 2 * (sigma ** 2 - sigma_next ** 2) / sigma ** 2))
    sigma_down = math.sqrt(sigma_next ** 2 - sigma_up ** 2)
    return sigma_down, sigma_up


def _steps(sigmas):
    values = [float(s) for s in sigmas]
    return list(enumerate(zip(values[:-1], values[1:])))


def euler(model, x, sigmas, callback=None, noise=None):
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        x = x + _to_d(x, sigma, denoised) * (sigma_next - sigma)
    return x


def euler_ancestral(model, x, sigmas, callback=None, noise=None):
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        sigma_down, sigma_up = _ancestral_step(sigma, sigma_next)
        x = x + _to_d(x, sigma, denoised) * (sigma_down - sigma)
        if sigma_next > 0:
            x = x + noise(sigma, sigma_next) * sigma_up
    return x


def euler_cfg_pp(model, x, sigmas, callback=None, noise=None):
    """CFG++: step along the unguided (negative) direction, from the guided x0."""
    model.keep_uncond = True
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        x = denoised + _to_d(x, sigma, model.last_uncond) * sigma_next
    return x


def euler_ancestral_cfg_pp(model, x, sigmas, callback=None, noise=None):
    model.keep_uncond = True
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        sigma_down, sigma_up = _ancestral_step(sigma, sigma_next)
        x = denoised + _to_d(x, sigma, model.last_uncond) * sigma_down
        if sigma_next > 0:
            x = x + noise(sigma, sigma_next) * sigma_up
    return x


def heun(model, x, sigmas, callback=None, noise=None):
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        d = _to_d(x, sigma, denoised)
        dt = sigma_next - sigma
        if sigma_next == 0:
            x = x + d * dt
            continue
        x_2 = x + d * dt
        d_2 = _to_d(x_2, sigma_next, model(x_2, sigma_next))
        x = x + (d + d_2) / 2 * dt
    return x


def _dpm2_step(model, x, d, sigma, sigma_target):
    """Midpoint step (in log sigma) from sigma to sigma_target."""
    sigma_mid = math.exp((math.log(sigma) + math.log(sigma_target)) / 2)
    x_2 = x + d * (sigma_mid - sigma)
    d_2 = _to_d(x_2, sigma_mid, model(x_2, sigma_mid))
    return x + d_2 * (sigma_target - sigma)


def dpm_2(model, x, sigmas, callback=None, noise=None):
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        d = _to_d(x, sigma, denoised)
        if sigma_next == 0:
            x = x + d * (sigma_next - sigma)
        else:
            x = _dpm2_step(model, x, d, sigma, sigma_next)
    return x


def dpm_2_ancestral(model, x, sigmas, callback=None, noise=None):
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        sigma_down, sigma_up = _ancestral_step(sigma, sigma_next)
        d = _to_d(x, sigma, denoised)
        if sigma_down == 0:
            x = x + d * (sigma_down - sigma)
        else:
            x = _dpm2_step(model, x, d, sigma, sigma_down)
        if sigma_next > 0:
            x = x + noise(sigma, sigma_next) * sigma_up
    return x


def _lms_coefficient(nodes, start, end, j):
    """Integral over [start, end] of the Lagrange basis polynomial j on the given nodes."""
    others = [node for k, node in enumerate(nodes) if k != j]
    poly = np.polynomial.Polynomial([1.0])
    for node in others:
        poly = poly * np.polynomial.Polynomial([-node, 1.0]) / (nodes[j] - node)
    antiderivative = poly.integ()
    return float(antiderivative(end) - antiderivative(start))


def lms(model, x, sigmas, callback=None, noise=None, order=4):
    values = [float(s) for s in sigmas]
    derivatives = []
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        derivatives = (derivatives + [_to_d(x, sigma, denoised)])[-order:]
        nodes = [values[i - j] for j in range(len(derivatives))]  # newest first
        for j, node_derivative in enumerate(reversed(derivatives)):
            x = x + _lms_coefficient(nodes, sigma, sigma_next, j) * node_derivative
    return x


def dpmpp_2s_ancestral(model, x, sigmas, callback=None, noise=None):
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        sigma_down, sigma_up = _ancestral_step(sigma, sigma_next)
        if sigma_down == 0:
            x = x + _to_d(x, sigma, denoised) * (sigma_down - sigma)
        else:
            h = math.log(sigma) - math.log(sigma_down)
            sigma_mid = math.exp(-(-math.log(sigma) + h / 2))
            x_2 = (sigma_mid / sigma) * x - math.expm1(-h / 2) * denoised
            denoised_2 = model(x_2, sigma_mid)
            x = (sigma_down / sigma) * x - math.expm1(-h) * denoised_2
        if sigma_next > 0:
            x = x + noise(sigma, sigma_next) * sigma_up
    return x


def dpmpp_sde(model, x, sigmas, callback=None, noise=None, r=0.5):
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        if sigma_next == 0:
            x = x + _to_d(x, sigma, denoised) * (sigma_next - sigma)
            continue
        t, t_next = -math.log(sigma), -math.log(sigma_next)
        sigma_mid = math.exp(-(t + (t_next - t) * r))
        # first stage: to the midpoint, with its share of fresh noise
        down, up = _ancestral_step(sigma, sigma_mid)
        x_2 = (down / sigma) * x - math.expm1(t + math.log(down)) * denoised
        x_2 = x_2 + noise(sigma, sigma_mid) * up
        denoised_2 = model(x_2, sigma_mid)
        # second stage: to sigma_next with a blend of both predictions
        down, up = _ancestral_step(sigma, sigma_next)
        blend = 1 / (2 * r)
        denoised_d = (1 - blend) * denoised + blend * denoised_2
        x = (down / sigma) * x - math.expm1(t + math.log(down)) * denoised_d
        x = x + noise(sigma, sigma_next) * up
    return x


def dpmpp_2m(model, x, sigmas, callback=None, noise=None):
    values = [float(s) for s in sigmas]
    previous = None
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        if sigma_next == 0:
            x = denoised
        else:
            h = math.log(sigma) - math.log(sigma_next)
            blended = denoised
            if previous is not None:
                r = (math.log(values[i - 1]) - math.log(sigma)) / h
                blended = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * previous
            x = (sigma_next / sigma) * x - math.expm1(-h) * blended
        previous = denoised
    return x


def dpmpp_2m_sde(model, x, sigmas, callback=None, noise=None, eta=1.0):
    previous, h_last = None, None
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        if sigma_next == 0:
            x = denoised
            previous = None
            continue
        h = math.log(sigma) - math.log(sigma_next)
        eta_h = eta * h
        x = (sigma_next / sigma) * math.exp(-eta_h) * x - math.expm1(-h - eta_h) * denoised
        if previous is not None:
            r = h_last / h
            x = x - 0.5 * math.expm1(-h - eta_h) * (1 / r) * (denoised - previous)
        if eta:
            x = x + noise(sigma, sigma_next) * sigma_next * math.sqrt(-math.expm1(-2 * eta_h))
        previous, h_last = denoised, h
    return x


def dpmpp_3m_sde(model, x, sigmas, callback=None, noise=None, eta=1.0):
    """Third-order multistep DPM-Solver++ with SDE noise (eta=0 gives the ODE solver)."""
    history, steps_back = [], []  # previous denoised outputs and step sizes, newest first
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        if sigma_next == 0:
            x = denoised
            continue
        h = math.log(sigma) - math.log(sigma_next)
        h_eta = h * (eta + 1)
        x = math.exp(-h_eta) * x - math.expm1(-h_eta) * denoised
        if len(history) >= 2:
            r0, r1 = steps_back[0] / h, steps_back[1] / h
            d1_0 = (denoised - history[0]) / r0
            d1_1 = (history[0] - history[1]) / r1
            d1 = d1_0 + (d1_0 - d1_1) * r0 / (r0 + r1)
            d2 = (d1_0 - d1_1) / (r0 + r1)
            phi_2 = math.expm1(-h_eta) / h_eta + 1
            phi_3 = phi_2 / h_eta - 0.5
            x = x + phi_2 * d1 - phi_3 * d2
        elif history:
            r = steps_back[0] / h
            phi_2 = math.expm1(-h_eta) / h_eta + 1
            x = x + phi_2 * (denoised - history[0]) / r
        if eta:
            x = x + noise(sigma, sigma_next) * sigma_next * math.sqrt(-math.expm1(-2 * h * eta))
        history, steps_back = [denoised] + history[:1], [h] + steps_back[:1]
    return x


def ipndm(model, x, sigmas, callback=None, noise=None, max_order=4):
    """Improved pseudo linear multistep: Adams-Bashforth on dx/dsigma with fixed coefficients."""
    previous = []  # earlier derivatives, newest last
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        d = _to_d(x, sigma, denoised)
        order = min(max_order, len(previous) + 1)
        if order == 1:
            slope = d
        elif order == 2:
            slope = (3 * d - previous[-1]) / 2
        elif order == 3:
            slope = (23 * d - 16 * previous[-1] + 5 * previous[-2]) / 12
        else:
            slope = (55 * d - 59 * previous[-1] + 37 * previous[-2] - 9 * previous[-3]) / 24
        x = x + (sigma_next - sigma) * slope
        previous = (previous + [d])[-(max_order - 1):]
    return x


def ddpm(model, x, sigmas, callback=None, noise=None):
    """Ancestral DDPM posterior steps, done in the variance-preserving space."""
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        eps = _to_d(x, sigma, denoised)
        acp, acp_next = 1 / (sigma ** 2 + 1), 1 / (sigma_next ** 2 + 1)
        alpha = acp / acp_next
        x_vp = x * math.sqrt(acp)
        mean = (x_vp - (1 - alpha) * eps / math.sqrt(1 - acp)) / math.sqrt(alpha)
        if sigma_next > 0:
            std = math.sqrt((1 - alpha) * (1 - acp_next) / (1 - acp))
            x = (mean + std * noise(sigma, sigma_next)) / math.sqrt(acp_next)
        else:
            x = mean
    return x


def lcm(model, x, sigmas, callback=None, noise=None):
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        x = denoised
        if sigma_next > 0:
            x = x + noise(sigma, sigma_next) * sigma_next
    return x


SAMPLERS = {
    "euler": euler,
    "ddim": euler,  # DDIM with eta=0 is exactly the Euler step of the sigma-space ODE
    "euler_ancestral": euler_ancestral,
    "euler_cfg_pp": euler_cfg_pp,
    "euler_ancestral_cfg_pp": euler_ancestral_cfg_pp,
    "heun": heun,
    "dpm_2": dpm_2,
    "dpm_2_ancestral": dpm_2_ancestral,
    "lms": lms,
    "dpmpp_2s_ancestral": dpmpp_2s_ancestral,
    "dpmpp_sde": dpmpp_sde,
    "dpmpp_sde_gpu": dpmpp_sde,
    "dpmpp_2m": dpmpp_2m,
    "dpmpp_2m_sde": dpmpp_2m_sde,
    "dpmpp_2m_sde_gpu": dpmpp_2m_sde,
    "dpmpp_3m_sde": dpmpp_3m_sde,
    "dpmpp_3m_sde_gpu": dpmpp_3m_sde,
    "ipndm": ipndm,
    "ddpm": ddpm,
    "lcm": lcm,
}


def get_sampler(name: str):
    from engine.sampling.names import check_sampler_name

    check_sampler_name(name)
    if name not in SAMPLERS:
        from engine.sampling import multistep

        return multistep.SAMPLERS[name]
    return SAMPLERS[name]


class Sampler:
    """ComfyUI's SAMPLER (what KSamplerSelect gives): a named sampler function, called like one."""

    def __init__(self, name: str):
        self.function = get_sampler(name)
        self.name = name

    def __call__(self, model, x, sigmas, callback=None, noise=None):
        return self.function(model, x, sigmas, callback, noise)

    def __repr__(self):
        return f"Sampler({self.name!r})"
