"""Guiders (ComfyUI's GUIDER): a MODEL, its conditioning groups and how their predictions combine.

The denoiser runs the UNet once per needed group (batched) and hands the x0 predictions,
by group name, to `combine`. KSampler uses CFGGuider; the custom sampling nodes pick one.
"""
from __future__ import annotations

import math


class CFGGuider:
    """Classifier-free guidance: negative + cfg * (positive - negative)."""

    def __init__(self, model, positive, negative, cfg: float):
        self.model = model
        self.cfg = float(cfg)
        self.groups = {"negative": list(negative or []), "positive": list(positive or [])}

    def needs(self, keep_uncond: bool = False) -> list[str]:
        """The groups to run; at cfg 1 the negative cancels out (unless a CFG++ sampler asks)."""
        if self.cfg == 1.0 and not keep_uncond:
            return ["positive"]
        return ["negative", "positive"]

    def combine(self, predictions: dict):
        positive = predictions["positive"]
        if "negative" not in predictions:
            return positive
        negative = predictions["negative"]
        return negative + (positive - negative) * self.cfg


class BasicGuider(CFGGuider):
    """One conditioning, no guidance (what distilled models such as Flux use)."""

    def __init__(self, model, conditioning):
        super().__init__(model, conditioning, [], 1.0)
        self.input_names = {"positive": "conditioning"}

    def needs(self, keep_uncond: bool = False) -> list[str]:
        return ["positive"]


class DualCFGGuider(CFGGuider):
    """Two positive prompts and a negative (ComfyUI's DualCFGGuider).

    regular: negative + cfg2 * (cond2 - negative) + cfg1 * (cond1 - cond2)
    nested:  negative + cfg2 * (cond2 + cfg1 * (cond1 - cond2) - negative)
    """

    def __init__(self, model, cond1, cond2, negative, cfg_conds: float, cfg_cond2_negative: float,
                 nested: bool = False):
        self.model = model
        self.cfg = float(cfg_conds)
        self.cfg2 = float(cfg_cond2_negative)
        self.nested = bool(nested)
        self.groups = {"negative": list(negative or []), "middle": list(cond2 or []),
                       "positive": list(cond1 or [])}
        self.input_names = {"positive": "cond1", "middle": "cond2"}

    def needs(self, keep_uncond: bool = False) -> list[str]:
        if self.nested or keep_uncond or not math.isclose(self.cfg2, 1.0):
            return ["negative", "middle", "positive"]
        if not math.isclose(self.cfg, 1.0):
            return ["middle", "positive"]
        return ["positive"]

    def combine(self, predictions: dict):
        positive = predictions["positive"]
        middle = predictions.get("middle", positive)
        negative = predictions.get("negative", middle)
        if self.nested:
            text = middle + (positive - middle) * self.cfg
            return negative + (text - negative) * self.cfg2
        return negative + (middle - negative) * self.cfg2 + (positive - middle) * self.cfg
