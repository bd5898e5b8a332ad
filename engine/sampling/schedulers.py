"""Sigma schedules by ComfyUI scheduler name.

Each function returns `steps + 1` descending float32 sigmas ending in 0.
"""
from __future__ import annotations

import math

import torch

from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.names import check_scheduler_name


def _with_zero(sigmas) -> torch.Tensor:
    sigmas = torch.as_tensor(sigmas, dtype=torch.float32).reshape(-1)
    return torch.cat([sigmas, sigmas.new_zeros(1)])


def normal(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    last = len(schedule.sigmas) - 1
    timesteps = torch.linspace(last, 0, steps, dtype=torch.float64)
    return _with_zero(schedule.sigma(timesteps))


def sgm_uniform(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    last = len(schedule.sigmas) - 1
    timesteps = torch.linspace(last, 0, steps + 1, dtype=torch.float64)[:-1]
    return _with_zero(schedule.sigma(timesteps))


def simple(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    table = schedule.sigmas
    stride = len(table) / steps
    return _with_zero([float(table[-(1 + int(i * stride))]) for i in range(steps)])


def ddim_uniform(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    table = schedule.sigmas
    stride = max(len(table) // steps, 1)
    picked = [float(table[t]) for t in range(1, len(table), stride)]
    return _with_zero(picked[::-1])


def karras(schedule: DiscreteSchedule, steps: int, rho: float = 7.0) -> torch.Tensor:
    return karras_sigmas(steps, schedule.sigma_min, schedule.sigma_max, rho)


def karras_sigmas(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    """Karras et al.: evenly spaced in sigma^(1/rho) from sigma_max to sigma_min (KarrasScheduler)."""
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    min_inv = sigma_min ** (1 / rho)
    max_inv = sigma_max ** (1 / rho)
    return _with_zero((max_inv + ramp * (min_inv - max_inv)) ** rho)


def exponential(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    return exponential_sigmas(steps, schedule.sigma_min, schedule.sigma_max)


def exponential_sigmas(steps: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """Evenly spaced in log sigma from sigma_max to sigma_min (ExponentialScheduler)."""
    log_sigmas = torch.linspace(math.log(sigma_max), math.log(sigma_min), steps, dtype=torch.float64)
    return _with_zero(log_sigmas.exp())


def sd_turbo(schedule: DiscreteSchedule, steps: int, denoise: float = 1.0) -> torch.Tensor:
    """SDTurboScheduler: the timesteps 999, 899, ..., 99 (ADD's ten), starting
    10 - int(10 * denoise) of them in and taking `steps`, then 0."""
    start = 10 - int(10 * denoise)
    timesteps = [999 - 100 * i for i in range(10)][start:start + steps]
    return _with_zero(schedule.sigma(torch.tensor(timesteps, dtype=torch.float64)) if timesteps else [])


def beta(schedule: DiscreteSchedule, steps: int, alpha: float = 0.6, beta_param: float = 0.6) -> torch.Tensor:
    """Timesteps at quantiles of a Beta(0.6, 0.6) distribution (denser at both ends)."""
    last = len(schedule.sigmas) - 1
    picked, previous = [], None
    for i in range(steps):
        t = round(_beta_ppf(1.0 - i / steps, alpha, beta_param) * last)
        if t != previous:
            picked.append(float(schedule.sigmas[t]))
        previous = t
    return _with_zero(picked)


def kl_optimal(schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    """Evenly spaced in arctan(sigma) from sigma_max to sigma_min ("Align your steps" KL-optimal)."""
    if steps == 1:
        return _with_zero([schedule.sigma_max])
    ramp = torch.arange(steps, dtype=torch.float64) / (steps - 1)
    angles = ramp * math.atan(schedule.sigma_min) + (1 - ramp) * math.atan(schedule.sigma_max)
    return _with_zero(angles.tan())


def linear_quadratic(schedule: DiscreteSchedule, steps: int, threshold_noise: float = 0.025) -> torch.Tensor:
    """Mochi's schedule: noise fraction rises linearly to `threshold_noise` over the first half
    of the steps, then quadratically to 1; sigmas are (1 - fraction) * sigma_max."""
    if steps == 1:
        return torch.tensor([schedule.sigma_max, 0.0], dtype=torch.float32)
    linear_steps = steps // 2
    quadratic_steps = steps - linear_steps
    fractions = [i * threshold_noise / linear_steps for i in range(linear_steps)]
    excess = linear_steps - threshold_noise * steps
    a = excess / (linear_steps * quadratic_steps ** 2)
    b = threshold_noise / linear_steps - 2 * excess / quadratic_steps ** 2
    c = a * linear_steps ** 2
    fractions += [a * i ** 2 + b * i + c for i in range(linear_steps, steps)]
    fractions.append(1.0)
    return torch.tensor([(1.0 - f) * schedule.sigma_max for f in fractions], dtype=torch.float32)


SCHEDULERS = {
    "normal": normal,
    "karras": karras,
    "exponential": exponential,
    "sgm_uniform": sgm_uniform,
    "simple": simple,
    "ddim_uniform": ddim_uniform,
    "beta": beta,
    "linear_quadratic": linear_quadratic,
    "kl_optimal": kl_optimal,
}


def compute_sigmas(scheduler: str, schedule: DiscreteSchedule, steps: int) -> torch.Tensor:
    check_scheduler_name(scheduler)
    if steps < 1:
        raise ValueError(f"steps: must be at least 1, got {steps}")
    return SCHEDULERS[scheduler](schedule, int(steps))


def _beta_ppf(q: float, a: float, b: float) -> float:
    """Inverse of the regularized incomplete beta function, by bisection."""
    if q <= 0.0:
        return 0.0
    if q >= 1.0:
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if _beta_cdf(mid, a, b) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _beta_cdf(x: float, a: float, b: float) -> float:
    """Regularized incomplete beta I_x(a, b) via its continued fraction."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(1 - x, b, a) / b


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    tiny = 1e-300

    def guard(value):
        return value if abs(value) > tiny else tiny

    c, d = 1.0, 1.0 / guard(1.0 - (a + b) * x / (a + 1))
    result = d
    for m in range(1, 300):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 / guard(1.0 + even * d)
        c = guard(1.0 + even / c)
        result *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 / guard(1.0 + odd * d)
        c = guard(1.0 + odd / c)
        step = d * c
        result *= step
        if abs(step - 1.0) < 1e-15:
            break
    return result
