"""Turn a diffusers UNet into a k-diffusion style denoiser: x0 = D(x, sigma).

Handles epsilon and v-prediction, classifier-free guidance with all conditioning
entries batched into as few UNet calls as possible, ComfyUI conditioning extras
(area, strength, mask, start/end percent, ControlNets under `control`), SDXL added
conditions, and the extra input channels of inpainting (9) and depth (5) UNets.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.controlnet.apply import ControlRunner, check_fits, control_of, fill_uncond_controls
from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.guiders import CFGGuider

AREA_FEATHER = 8  # latent pixels over which an area's inner edges fade in


@dataclass
class _Entry:
    """One conditioning entry prepared for a given latent."""

    cond: torch.Tensor              # [B, T, D]
    added: dict | None              # SDXL text_embeds / time_ids, each [B, ...]
    concat: torch.Tensor | None     # [B, C_extra, H, W]
    region: tuple                   # (y, x, h, w) in latent units
    weight: torch.Tensor            # [B, 1, h, w]
    sigma_start: float
    sigma_end: float
    group: str                      # the guider's group: "positive", "negative", DualCFG's "middle"
    control: object = None          # engine.controlnet.ControlHint (newest of a chain) or None


@dataclass
class _Chunk:
    entry: _Entry
    x: torch.Tensor


class Denoiser:
    """Callable (x, sigma) -> denoised latent, guided by classifier-free guidance or a guider."""

    def __init__(self, model, unet, schedule: DiscreteSchedule, positive, negative, cfg: float,
                 latent_shape, device, dtype, latent_image=None, noise_mask=None, guider=None):
        """`guider` (engine.sampling.guiders) replaces positive/negative/cfg when given."""
        self.guider = guider if guider is not None else CFGGuider(model, positive, negative, cfg)
        self.model = model
        self.unet = unet
        self.schedule = schedule
        self.cfg = self.guider.cfg
        self.device = device
        self.dtype = dtype
        self.latent_shape = tuple(latent_shape)
        prepare = _EntryBuilder(model, unet, schedule, self.latent_shape, device, dtype,
                                latent_image, noise_mask)
        groups = dict(self.guider.groups)
        groups["negative"] = fill_uncond_controls(groups["positive"], groups["negative"])
        input_names = getattr(self.guider, "input_names", {})  # for error messages: DualCFG's cond1, ...
        prepared = {name: [prepare(c, input_names.get(name, name), group=name) for c in conds]
                    for name, conds in reversed(groups.items())}  # the positive's errors are reported first
        self.entries = [entry for name in groups for entry in prepared[name]]  # uncond first, as diffusers
        self.controls = ControlRunner(model, schedule, device, dtype)
        self.keep_uncond = False    # CFG++ samplers set this: run the negative even at cfg 1
        self.last_uncond = None     # the negative's x0 prediction from the last call

    def __call__(self, x: torch.Tensor, sigma) -> torch.Tensor:
        sigma_value = float(torch.as_tensor(sigma).reshape(-1)[0])
        needed = self.guider.needs(self.keep_uncond)
        active = [e for e in self.entries
                  if e.group in needed and e.sigma_end <= sigma_value <= e.sigma_start]
        outputs = self._run_chunks(x, sigma_value, active)
        predictions = {name: _combine(x, [(e, out) for e, out in outputs if e.group == name]) for name in needed}
        result = self.guider.combine(predictions)
        if "negative" in needed:
            self.last_uncond = predictions["negative"]
        elif self.keep_uncond:  # a guider without a negative: CFG++ steps like its plain sampler
            self.last_uncond = result
        return result

    def _run_chunks(self, x, sigma_value, entries):
        groups: dict[tuple, list[_Chunk]] = {}
        for entry in entries:
            y0, x0, h, w = entry.region
            crop = x[:, :, y0:y0 + h, x0:x0 + w]
            key = (h, w, tuple(entry.cond.shape), entry.added is not None, entry.concat is not None,
                   id(entry.control))
            groups.setdefault(key, []).append(_Chunk(entry, crop))
        results = []
        for chunks in groups.values():
            denoised = self._denoise_batch(chunks, sigma_value)
            for chunk, out in zip(chunks, denoised.split([c.x.shape[0] for c in chunks])):
                results.append((chunk.entry, out))
        return results

    def _denoise_batch(self, chunks, sigma_value):
        x = torch.cat([c.x for c in chunks])
        sigma = torch.tensor(sigma_value, dtype=torch.float32)
        scaled = (x / (sigma ** 2 + 1) ** 0.5).to(self.device, self.dtype)
        timestep = self.schedule.timestep(sigma.reshape(1)).expand(x.shape[0]).to(self.device)
        cond = torch.cat([c.entry.cond for c in chunks])
        kwargs = {}
        if chunks[0].entry.added is not None:
            kwargs["added_cond_kwargs"] = {
                key: torch.cat([c.entry.added[key] for c in chunks]) for key in chunks[0].entry.added
            }
        control = chunks[0].entry.control
        if control is not None:
            residuals = self.controls.residuals(control, scaled, timestep, sigma_value, cond,
                                                kwargs.get("added_cond_kwargs"), chunks[0].x.shape[0])
            if residuals is not None:
                kwargs["down_block_additional_residuals"], kwargs["mid_block_additional_residual"] = residuals
        if chunks[0].entry.concat is not None:
            concat = torch.cat([_crop(c.entry.concat, c.entry.region) for c in chunks])
            scaled = torch.cat([scaled, concat.to(self.device, self.dtype)], dim=1)
        out = self.unet(scaled, timestep,
                        encoder_hidden_states=cond, return_dict=False, **kwargs)[0]
        out = out.float().to(x.device)
        if self.model.prediction_type == "v_prediction":
            return x / (sigma ** 2 + 1) - out * sigma / (sigma ** 2 + 1) ** 0.5
        return x - out * sigma


def _combine(x, entry_outputs):
    """Weighted average of the entries' predictions over the latent (0 where none applies)."""
    total = torch.zeros_like(x)
    weights = torch.full_like(x[:, :1], 1e-37)
    for entry, out in entry_outputs:
        y0, x0, h, w = entry.region
        total[:, :, y0:y0 + h, x0:x0 + w] += out * entry.weight
        weights[:, :, y0:y0 + h, x0:x0 + w] += entry.weight
    return total / weights


def _crop(tensor, region):
    y0, x0, h, w = region
    return tensor[:, :, y0:y0 + h, x0:x0 + w]


class _EntryBuilder:
    def __init__(self, model, unet, schedule, latent_shape, device, dtype, latent_image, noise_mask):
        self.model = model
        self.config = unet.config
        self.schedule = schedule
        self.batch, self.channels, self.height, self.width = latent_shape
        self.device = device
        self.dtype = dtype
        self.latent_image = latent_image
        self.noise_mask = noise_mask

    def __call__(self, pair, input_name, group=None):
        try:
            cond, extras = pair[0], dict(pair[1])
        except (TypeError, IndexError, KeyError):
            raise ValueError(f"{input_name}: expected CONDITIONING, a list of [tensor, dict] pairs")
        if not isinstance(cond, torch.Tensor) or cond.ndim != 3:
            raise ValueError(f"{input_name}: conditioning tensor must be [1, tokens, dim], got {type(cond).__name__}")
        expected_dim = self.config.cross_attention_dim
        if isinstance(expected_dim, int) and cond.shape[-1] != expected_dim:
            raise ValueError(f"{input_name}: conditioning width {cond.shape[-1]} does not fit this model "
                             f"(expects {expected_dim}); is the CLIP from the same checkpoint?")
        region = self._region(extras)
        weight = self._weight(extras, region)
        control = control_of(extras)
        if control is not None:
            check_fits(control, self.model, self.channels, input_name)
        return _Entry(
            cond=self._batched(cond).to(self.device, self.dtype),
            added=self._added_conditions(extras, input_name),
            concat=self._concat(extras, input_name),
            region=region,
            weight=weight.to(self.device),
            sigma_start=self.schedule.percent_to_sigma(float(extras.get("start_percent", 0.0))),
            sigma_end=self.schedule.percent_to_sigma(float(extras.get("end_percent", 1.0))),
            group=group or input_name,
            control=control,
        )

    def _batched(self, tensor):
        if tensor.shape[0] == self.batch:
            return tensor
        return tensor[:1].expand(self.batch, *tensor.shape[1:])

    def _region(self, extras):
        height, width = self.height, self.width
        area = extras.get("area")
        if extras.get("set_area_to_bounds") and extras.get("mask") is not None:
            mask = self._latent_mask(extras["mask"])[0, 0] > 0
            rows, cols = torch.nonzero(mask.any(dim=1)), torch.nonzero(mask.any(dim=0))
            if len(rows) and len(cols):
                y0, x0 = int(rows[0]), int(cols[0])
                area = (int(rows[-1]) + 1 - y0, int(cols[-1]) + 1 - x0, y0, x0)
        if area is None:
            return (0, 0, height, width)
        if area[0] == "percentage":
            h, w, y0, x0 = (round(float(v) * s) for v, s in zip(area[1:], (height, width, height, width)))
        else:
            h, w, y0, x0 = (int(v) for v in area)
        y0, x0 = min(max(y0, 0), height - 1), min(max(x0, 0), width - 1)
        return (y0, x0, max(1, min(h, height - y0)), max(1, min(w, width - x0)))

    def _weight(self, extras, region):
        y0, x0, h, w = region
        weight = torch.full((self.batch, 1, h, w), float(extras.get("strength", 1.0)))
        if extras.get("mask") is not None:
            mask = self._latent_mask(extras["mask"])[:, :, y0:y0 + h, x0:x0 + w]
            weight = weight * mask * float(extras.get("mask_strength", 1.0))
        if "area" in extras:
            ramp = (torch.arange(AREA_FEATHER, dtype=torch.float32) + 1) / AREA_FEATHER
            n_rows, n_cols = min(AREA_FEATHER, h), min(AREA_FEATHER, w)
            if y0 != 0:
                weight[:, :, :n_rows] *= ramp[:n_rows].reshape(-1, 1)
            if y0 + h < self.height:
                weight[:, :, h - n_rows:] *= ramp[:n_rows].flip(0).reshape(-1, 1)
            if x0 != 0:
                weight[:, :, :, :n_cols] *= ramp[:n_cols]
            if x0 + w < self.width:
                weight[:, :, :, w - n_cols:] *= ramp[:n_cols].flip(0)
        return weight

    def _latent_mask(self, mask):
        return resize_mask(mask, self.batch, self.height, self.width)

    def _added_conditions(self, extras, input_name):
        if getattr(self.config, "addition_embed_type", None) != "text_time":
            return None
        pooled = extras.get("pooled_output")
        if pooled is None:
            raise ValueError(f"{input_name}: this {self.model.arch} model needs a pooled text embedding "
                             "(pooled_output); encode the prompt with the CLIP of an SDXL checkpoint")
        time_dim = self.config.addition_time_embed_dim
        n_time_ids = (self.config.projection_class_embeddings_input_dim - pooled.shape[-1]) // time_dim
        width = extras.get("width", self.width * 8)
        height = extras.get("height", self.height * 8)
        values = [height, width, extras.get("crop_h", 0), extras.get("crop_w", 0)]
        if n_time_ids == 5:  # refiner: aesthetic score instead of the target size
            values.append(extras.get("aesthetic_score", 6.0))
        else:
            values += [extras.get("target_height", height), extras.get("target_width", width)]
        time_ids = torch.tensor([values], dtype=torch.float32)
        return {
            "text_embeds": self._batched(pooled).to(self.device, self.dtype),
            "time_ids": self._batched(time_ids).to(self.device, self.dtype),
        }

    def _concat(self, extras, input_name):
        extra_channels = int(self.config.in_channels) - self.channels
        if extra_channels <= 0:
            return None
        image = extras.get("concat_latent_image")
        mask = extras.get("concat_mask")
        if extra_channels == self.channels + 1:  # inpainting UNet: [mask, masked image latent]
            if mask is None:
                mask = self.noise_mask
            if image is None:
                image = self.latent_image if mask is not None else None
            mask = (torch.ones(self.batch, 1, self.height, self.width) if mask is None
                    else resize_mask(mask, self.batch, self.height, self.width))
            image = (torch.zeros(self.batch, self.channels, self.height, self.width) if image is None
                     else self._resized_latent(image))
            return torch.cat([mask, image], dim=1).to(self.device, self.dtype)
        if image is None or image.shape[1] != extra_channels:
            raise ValueError(f"{input_name}: this model takes {extra_channels} extra input channel(s); "
                             "give them as concat_latent_image in the conditioning")
        return self._resized_latent(image).to(self.device, self.dtype)

    def _resized_latent(self, latent):
        latent = latent.float()
        if latent.shape[-2:] != (self.height, self.width):
            latent = F.interpolate(latent, size=(self.height, self.width), mode="bilinear", align_corners=False)
        return self._batched(latent)


def resize_mask(mask, batch, height, width) -> torch.Tensor:
    """A MASK ([H,W], [B,H,W] or [B,1,H,W]) as float [batch, 1, height, width]."""
    mask = torch.as_tensor(mask).float()
    if mask.ndim == 2:
        mask = mask[None, None]
    elif mask.ndim == 3:
        mask = mask[:, None]
    if mask.shape[-2:] != (height, width):
        mask = F.interpolate(mask, size=(height, width), mode="bilinear", align_corners=False)
    if mask.shape[0] != batch:
        repeats = -(-batch // mask.shape[0])
        mask = mask.repeat(repeats, 1, 1, 1)[:batch]
    return mask[:, :1]
