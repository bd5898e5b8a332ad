"""The CONTROL_NET value and the control attached to conditioning entries.

A ControlNet is a loaded network (shared, cached, never changed). Applying it to
conditioning makes a ControlHint: the network plus a hint image, a strength and a
start/end percent, linked to the ControlHint that was already on the entry, so
several ControlNets chain as in ComfyUI (`previous_controlnet`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

ARCH_NAMES = {"sd1": "SD1.x", "sd2": "SD2.x", "sdxl": "SDXL", "sdxl_refiner": "SDXL refiner"}


class ControlNet:
    """A loaded diffusers ControlNetModel and what it was made for.

    A Control-LoRA has no module until it meets a model: `lora_state` holds its file,
    and `bound(model)` builds (and caches) the network on that model's UNet.
    """

    def __init__(self, module, arch: str, name: str = "controlnet", lora_state: dict | None = None):
        self.module = module    # diffusers ControlNetModel, kept on the offload device (None: Control-LoRA)
        self.arch = arch        # "sd1" | "sd2" | "sdxl"
        self.name = name        # file name, for messages
        self.lora_state = lora_state

    @property
    def config(self):
        return self.module.config

    @property
    def conditioning_channels(self) -> int:
        if self.module is None:
            return int(self.lora_state["input_hint_block.0.weight"].shape[1])
        return int(self.config.conditioning_channels)

    def bound(self, model) -> "ControlNet":
        """The network to run with `model` (a MODEL): itself, or a Control-LoRA built on its UNet."""
        if self.module is not None:
            return self
        from engine.controlnet.load import bind_control_lora

        return bind_control_lora(self, model)

    @property
    def nbytes(self) -> int:
        from engine.model_cache import weights_bytes

        if self.module is None:
            return sum(t.numel() * t.element_size() for t in self.lora_state.values())
        return weights_bytes(self.module)

    def describe(self) -> str:
        return f"{ARCH_NAMES.get(self.arch, self.arch)} ControlNet '{self.name}'"

    def __repr__(self) -> str:
        return f"<ControlNet {self.name} ({self.arch})>"


@dataclass(frozen=True, eq=False)
class ControlHint:
    """One ControlNet applied to conditioning; `previous` is the one applied before it (or None).

    image: float [B, 3, H, W] in 0..1 (channel-first, as the network takes it).
    Identity matters: entries that carry the same ControlHint object can share one UNet batch.
    """

    control_net: ControlNet
    image: torch.Tensor
    strength: float = 1.0
    start_percent: float = 0.0
    end_percent: float = 1.0
    previous: "ControlHint | None" = None

    def chain(self) -> list["ControlHint"]:
        """This hint and all before it, oldest first."""
        links, link = [], self
        while link is not None:
            links.append(link)
            link = link.previous
        return links[::-1]
