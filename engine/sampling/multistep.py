"""Multistep solvers that reuse earlier model outputs: UniPC (bh1, bh2) and DEIS.

Written in the variance-exploding space the other samplers use (x = x0 + sigma * eps),
with lambda = -log(sigma) as the solver's time.
"""
from __future__ import annotations

import math

import torch

from engine.sampling.samplers import _lms_coefficient, _steps


def _unipc_weights(rks, h, variant):
    """The R matrix and b vector of UniPC's order conditions, plus phi_1 and B(h)."""
    hh = -h
    h_phi_1 = math.expm1(hh)
    h_phi_k = h_phi_1 / hh - 1
    factorial = 1
    b_h = hh if variant == "bh1" else math.expm1(hh)
    rows, b = [], []
    for i in range(1, len(rks) + 1):
        rows.append([rk ** (i - 1) for rk in rks])
        b.append(h_phi_k * factorial / b_h)
        factorial *= i + 1
        h_phi_k = h_phi_k / hh - 1 / factorial
    return torch.tensor(rows, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), h_phi_1, b_h


def _unipc_step(x, sigma, sigma_next, outputs, sigmas_seen, order, variant, corrector_output=None):
    """One UniP predictor step (corrector_output None) or UniC corrector step from sigma to sigma_next.

    outputs/sigmas_seen: denoised predictions and their sigmas, newest last.
    """
    lam, lam_next = -math.log(sigma), -math.log(sigma_next)
    h = lam_next - lam
    m0 = outputs[-1]
    rks, differences = [], []
    for i in range(1, order):
        rk = (-math.log(sigmas_seen[-(i + 1)]) - lam) / h
        rks.append(rk)
        differences.append((outputs[-(i + 1)] - m0) / rk)
    rks.append(1.0)
    rows, b, h_phi_1, b_h = _unipc_weights(rks, h, variant)
    x_next = (sigma_next / sigma) * x - h_phi_1 * m0
    if corrector_output is None:
        if not differences:
            return x_next
        rhos = [0.5] if order == 2 else torch.linalg.solve(rows[:-1, :-1], b[:-1]).tolist()
        return x_next - b_h * sum(rho * d for rho, d in zip(rhos, differences))
    rhos = [0.5] if order == 1 else torch.linalg.solve(rows, b).tolist()
    correction = sum(rho * d for rho, d in zip(rhos[:-1], differences)) if differences else 0
    return x_next - b_h * (correction + rhos[-1] * (corrector_output - m0))


def _unipc(model, x, sigmas, callback, variant, max_order=3):
    steps = _steps(sigmas)
    outputs, sigmas_seen = [], []
    previous_x, previous_order = None, 0
    for i, (sigma, sigma_next) in steps:
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        if previous_x is not None:  # UniC: refine the last step with this model output
            x = _unipc_step(previous_x, sigmas_seen[-1], sigma, outputs, sigmas_seen, previous_order,
                            variant, corrector_output=denoised)
        outputs, sigmas_seen = (outputs + [denoised])[-max_order:], (sigmas_seen + [sigma])[-max_order:]
        if sigma_next == 0:
            return denoised
        order = min(max_order, len(steps) - i, len(outputs))
        previous_x, previous_order = x, order
        x = _unipc_step(x, sigma, sigma_next, outputs, sigmas_seen, order, variant)
    return x


def uni_pc(model, x, sigmas, callback=None, noise=None):
    return _unipc(model, x, sigmas, callback, "bh1")


def uni_pc_bh2(model, x, sigmas, callback=None, noise=None):
    return _unipc(model, x, sigmas, callback, "bh2")


def deis(model, x, sigmas, callback=None, noise=None, max_order=3):
    """DEIS in its rho-AB form: Adams-Bashforth on eps = dx/dsigma with Lagrange
    extrapolation over the last (up to 3) sigmas, integrated exactly."""
    values = [float(s) for s in sigmas]
    eps_history = []
    for i, (sigma, sigma_next) in _steps(sigmas):
        denoised = model(x, sigma)
        if callback:
            callback(i, x, denoised)
        eps_history = (eps_history + [(x - denoised) / sigma])[-max_order:]
        nodes = [values[i - j] for j in range(len(eps_history))]
        for j, eps in enumerate(reversed(eps_history)):
            x = x + _lms_coefficient(nodes, sigma, sigma_next, j) * eps
    return x


SAMPLERS = {"uni_pc": uni_pc, "uni_pc_bh2": uni_pc_bh2, "deis": deis}
