"""Run the ControlNets attached to conditioning beside each UNet call.

Conditioning extras carry `control` (the newest ControlHint of a chain) and
`control_apply_to_uncond`. For one UNet call on a batch of entries that share a
chain, every link active at this sigma runs on the same scaled x, timestep, text
embeddings (and SDXL added conditions) as the UNet; its residuals are scaled by
the link's strength and summed over the chain (ComfyUI's control_merge).
"""
from __future__ import annotations

import contextlib

import torch

from engine.controlnet.control import ARCH_NAMES, ControlHint
from engine.images import resize


def control_of(extras: dict) -> ControlHint | None:
    control = extras.get("control")
    if control is None:
        return None
    if not isinstance(control, ControlHint):
        raise ValueError(f"conditioning: 'control' holds {type(control).__name__}, not a Loom ControlNet; "
                         "apply ControlNets with ControlNetApply or ControlNetApplyAdvanced")
    return control


def fill_uncond_controls(positive: list, negative: list) -> list:
    """ControlNetApply (old) marks its control for the negative too, as ComfyUI does.

    When no negative entry without an area has a control, the controls of the positive
    entries marked `control_apply_to_uncond` (without an area) are given to the negative
    entries without an area, in turn; extra controls get copies of those entries.
    """
    def plain(entries):  # malformed entries are left for the denoiser to report
        return [(i, e) for i, e in enumerate(entries)
                if isinstance(e, (list, tuple)) and len(e) > 1 and isinstance(e[1], dict) and "area" not in e[1]]

    shared = [e[1]["control"] for _, e in plain(positive)
              if e[1].get("control_apply_to_uncond") and e[1].get("control") is not None]
    if not shared:
        return negative
    targets = plain(negative)
    if not targets or any(e[1].get("control") is not None for _, e in targets):
        return negative
    negative = list(negative)
    for n, control in enumerate(shared):
        index, entry = targets[n % len(targets)]
        filled = [entry[0], {**entry[1], "control": control}]
        if n < len(targets):
            negative[index] = filled
        else:
            negative.append(filled)
    return negative


def check_fits(control: ControlHint, model, latent_channels: int, input_name: str) -> None:
    """Refuse a ControlNet made for another base model, naming both."""
    unet_config, arch = model.unet.config, model.arch
    for link in control.chain():
        config = link.control_net.bound(model).config
        problems = []
        if config.cross_attention_dim != unet_config.cross_attention_dim:
            problems.append(f"text width {config.cross_attention_dim} vs the model's {unet_config.cross_attention_dim}")
        cn_xl = getattr(config, "addition_embed_type", None) == "text_time"
        unet_xl = getattr(unet_config, "addition_embed_type", None) == "text_time"
        if cn_xl != unet_xl or (cn_xl and config.projection_class_embeddings_input_dim
                                != unet_config.projection_class_embeddings_input_dim):
            problems.append("SDXL size/pooled conditioning " + ("expected" if cn_xl else "not expected"))
        if config.in_channels != latent_channels:
            problems.append(f"{config.in_channels} latent channels vs {latent_channels}")
        if tuple(config.block_out_channels) != tuple(unet_config.block_out_channels):
            problems.append(f"block widths {list(config.block_out_channels)} vs "
                            f"{list(unet_config.block_out_channels)}")
        if problems:
            raise ValueError(
                f"{input_name}: the {link.control_net.describe()} does not fit this "
                f"{ARCH_NAMES.get(arch, arch)} model ({'; '.join(problems)}); "
                "use a ControlNet made for the same base model")


class ControlRunner:
    """Residuals of ControlHint chains for the UNet calls of one sampling run."""

    def __init__(self, model, schedule, device, dtype):
        self.model = model
        self.schedule = schedule
        self.device = device
        self.dtype = dtype
        self._hints: dict[tuple, torch.Tensor] = {}
        self._ranges: dict[int, tuple[float, float]] = {}

    def active(self, link: ControlHint, sigma: float) -> bool:
        if id(link) not in self._ranges:
            self._ranges[id(link)] = (self.schedule.percent_to_sigma(float(link.start_percent)),
                                      self.schedule.percent_to_sigma(float(link.end_percent)))
        sigma_start, sigma_end = self._ranges[id(link)]
        return sigma_end <= sigma <= sigma_start

    def residuals(self, control: ControlHint, sample, timestep, sigma: float, cond, added, chunk_batch: int):
        """(down residuals, mid residual) summed over the chain's active links, or None."""
        down_total, mid_total = None, None
        for link in control.chain():
            if not self.active(link, sigma):
                continue
            hint = self._hint(link, sample.shape[-2] * 8, sample.shape[-1] * 8, chunk_batch, sample.shape[0])
            down, mid = link.control_net.bound(self.model).module(
                sample, timestep, encoder_hidden_states=cond, controlnet_cond=hint,
                conditioning_scale=float(link.strength), added_cond_kwargs=added, return_dict=False)
            if down_total is None:
                down_total, mid_total = list(down), mid
            else:
                down_total = [a + b for a, b in zip(down_total, down)]
                mid_total = mid_total + mid
        return None if down_total is None else (down_total, mid_total)

    def _hint(self, link: ControlHint, height: int, width: int, chunk_batch: int, total_batch: int):
        """The hint image at the pixel size of the latent, one per latent in the batch (cached)."""
        key = (id(link), height, width, chunk_batch, total_batch)
        if key not in self._hints:
            image = link.image.float()
            if image.shape[-2:] != (height, width):
                image = resize(image, width, height, "nearest-exact", "center")
            repeats = -(-chunk_batch // image.shape[0])
            image = image.repeat(repeats, 1, 1, 1)[:chunk_batch]
            image = image.repeat(total_batch // chunk_batch, 1, 1, 1)
            self._hints[key] = image.to(self.device, self.dtype)
        return self._hints[key]


@contextlib.contextmanager
def models_on(conditionings, model, device, dtype):
    """Move the ControlNets used by the conditioning lists to device/dtype; back afterwards."""
    modules = {}
    for conditioning in conditionings:
        for pair in conditioning or []:
            extras = pair[1] if isinstance(pair, (list, tuple)) and len(pair) > 1 else None
            control = control_of(extras) if isinstance(extras, dict) else None
            for link in control.chain() if control is not None else []:
                module = link.control_net.bound(model).module
                modules[id(module)] = module
    moved = []
    for module in modules.values():
        first = next(module.parameters())
        if first.device != torch.device(device) or first.dtype != dtype:
            moved.append((module, first.device, first.dtype))
            module.to(device=device, dtype=dtype)
    try:
        yield
    finally:
        for module, old_device, old_dtype in moved:
            module.to(device=old_device, dtype=old_dtype)
