"""Weight patches (LoRA deltas) applied to a module only while it is in use.

A patch list maps a parameter name to [(strength, LoraPatch), ...]. Inside
`apply_patches` each named weight becomes W + sum(strength * delta); the original
values are restored on exit, so clones with different patches share one module.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass
class LoraPatch:
    """delta = (alpha / rank) * up @ down, or a full `diff` tensor.

    up [out, rank(, 1, 1)], down [rank, in(, kh, kw)]; `mid` [rank, rank, kh, kw]
    is LoCon's middle convolution (then down is [rank, in, 1, 1]).
    alpha None means a scale of 1.
    """

    up: torch.Tensor | None = None
    down: torch.Tensor | None = None
    alpha: float | None = None
    mid: torch.Tensor | None = None
    diff: torch.Tensor | None = None

    def delta(self, weight_shape) -> torch.Tensor:
        weight_shape = tuple(weight_shape)
        if self.diff is not None:
            return self.diff.float().reshape(weight_shape)
        down = self.down.float()
        if self.mid is not None:
            down = torch.einsum("rshw,si->rihw", self.mid.float(), down.flatten(1))
        rank = down.shape[0]
        scale = 1.0 if self.alpha is None else float(self.alpha) / rank
        product = self.up.float().flatten(1) @ down.flatten(1)
        return (product * scale).reshape(weight_shape)

    def fits(self, weight_shape) -> bool:
        """Whether the delta has as many elements as the weight (wrong-architecture check)."""
        count = 1
        for size in weight_shape:
            count *= int(size)
        if self.diff is not None:
            return self.diff.numel() == count
        out_features = self.up.shape[0]
        in_numel = self.down.flatten(1).shape[1] if self.mid is None else self.down.shape[1] * self.mid[0, 0].numel()
        return out_features * in_numel == count and out_features == int(weight_shape[0])


@contextlib.contextmanager
def apply_patches(module, patches: dict):
    """Add the patch deltas to the module's weights for the duration of the block."""
    if not any(patches.values()):
        yield module
        return
    parameters = dict(module.named_parameters())
    saved: dict[str, torch.Tensor] = {}
    try:
        with torch.no_grad():
            for name, entries in patches.items():
                if not entries:
                    continue
                parameter = parameters.get(name)
                if parameter is None:
                    raise KeyError(f"patch for unknown parameter {name}")
                saved[name] = parameter.data.clone()
                total = parameter.data.float()
                for strength, patch in entries:
                    delta = patch.delta(parameter.shape).to(total.device)
                    total = total + float(strength) * delta
                parameter.data.copy_(total.to(parameter.dtype))
        yield module
    finally:
        with torch.no_grad():
            for name, original in saved.items():
                parameters[name].data.copy_(original)
