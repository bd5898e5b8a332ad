"""Map between the 1000 discrete training timesteps and noise levels (sigmas)."""
from __future__ import annotations

import torch


class DiscreteSchedule:
    """Noise levels of a discrete-time model (ComfyUI's ModelSamplingDiscrete, diffusers' tables).

    `round_timesteps=False` converts a sigma to a fractional timestep by interpolating in
    log-sigma (what diffusers does with custom sigmas); True picks the nearest integer
    timestep (what ComfyUI does).
    """

    def __init__(self, sigmas: torch.Tensor, round_timesteps: bool = False):
        self.sigmas = sigmas.float()
        self.log_sigmas = sigmas.double().log()
        self.round_timesteps = round_timesteps

    @property
    def sigma_min(self) -> float:
        return float(self.sigmas[0])

    @property
    def sigma_max(self) -> float:
        return float(self.sigmas[-1])

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        log_sigma = sigma.double().clamp(min=1e-10).log().reshape(-1)
        table = self.log_sigmas
        if self.round_timesteps:
            t = (log_sigma[None, :] - table[:, None]).abs().argmin(dim=0).double()
            return t.reshape(sigma.shape).float()
        low = (log_sigma[None, :] >= table[:, None]).sum(dim=0) - 1
        low = low.clamp(0, len(table) - 2)
        weight = (table[low] - log_sigma) / (table[low] - table[low + 1])
        t = low.double() + weight.clamp(0, 1)
        return t.reshape(sigma.shape).float()

    def sigma(self, timestep) -> torch.Tensor:
        t = torch.as_tensor(timestep, dtype=torch.float64).clamp(0, len(self.sigmas) - 1)
        low, high = t.floor().long(), t.ceil().long()
        weight = t - low
        log_sigma = (1 - weight) * self.log_sigmas[low] + weight * self.log_sigmas[high]
        return log_sigma.exp().float()

    def percent_to_sigma(self, percent: float) -> float:
        """Sigma reached after `percent` of the full schedule (0 -> above max, 1 -> 0)."""
        if percent <= 0.0:
            return float("inf")
        if percent >= 1.0:
            return 0.0
        return float(self.sigma((1.0 - percent) * (len(self.sigmas) - 1)))
