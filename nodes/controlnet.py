"""ControlNet loader and apply nodes (ComfyUI's names, inputs and outputs).

CONTROL_NET is engine.controlnet.ControlNet. The apply nodes put an
engine.controlnet.ControlHint under the `control` key of every conditioning entry
(chained to the one already there) and `control_apply_to_uncond`; the denoiser
runs them (docs/CONTROLNET.md). torch-free at import: engine modules are imported
inside the node functions.
"""
from __future__ import annotations

from nodes._tooltips import tooltips
from nodes._common import model_names, model_path

STRENGTH = {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.01}
PERCENT = {"min": 0.0, "max": 1.0, "step": 0.001}
MIN_HINT_PIXELS = 8


def _load(control_net_name, model=None):
    from engine.controlnet.load import load_controlnet
    from engine.errors import ModelError

    path = model_path("controlnet", control_net_name, "control_net_name")
    try:
        return load_controlnet(path, model)
    except ModelError as error:
        raise ModelError(f"control_net_name: {error}") from error


@tooltips({
    "control_net_name": "The ControlNet file in models/controlnet."})
class ControlNetLoader:
    DESCRIPTION = "Loads a ControlNet (SD1.x, SD2.x or SDXL; original or diffusers layout) from models/controlnet."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"control_net_name": (model_names("controlnet"),)}}

    RETURN_TYPES = ("CONTROL_NET",)
    FUNCTION = "load_controlnet"
    CATEGORY = "loaders"

    def load_controlnet(self, control_net_name):
        return (_load(control_net_name),)


@tooltips({
    "model": "The diffusion model a diff ControlNet is added to; ignored by ordinary ControlNets.",
    "control_net_name": "The ControlNet file in models/controlnet."})
class DiffControlNetLoader:
    DESCRIPTION = "Loads a ControlNet; diff ControlNets are added to the weights of the given model."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": ("MODEL",), "control_net_name": (model_names("controlnet"),)}}

    RETURN_TYPES = ("CONTROL_NET",)
    FUNCTION = "load_controlnet"
    CATEGORY = "loaders"

    def load_controlnet(self, model, control_net_name):
        if model is None or not hasattr(model, "unet"):
            raise ValueError("model: expected a MODEL")
        return (_load(control_net_name, model),)


def _check_control_net(control_net):
    from engine.controlnet import ControlNet

    if not isinstance(control_net, ControlNet):
        raise ValueError(f"control_net: expected a CONTROL_NET, got {type(control_net).__name__}")


def _hint(image, control_net):
    """IMAGE [B,H,W,C] -> the hint the ControlNet takes: float [B,C,H,W] in 0..1."""
    import torch

    if not isinstance(image, torch.Tensor) or image.ndim != 4:
        raise ValueError("image: expected an IMAGE (a [batch, height, width, channels] tensor)")
    batch, height, width, channels = image.shape
    if batch == 0 or height < MIN_HINT_PIXELS or width < MIN_HINT_PIXELS:
        raise ValueError(f"image: the hint image is {width}x{height} (batch {batch}); a ControlNet hint needs "
                         f"at least one image of {MIN_HINT_PIXELS}x{MIN_HINT_PIXELS} pixels")
    wanted = control_net.conditioning_channels
    if channels == 4:
        image = image[..., :3]
    if image.shape[-1] == 1 and wanted == 3:
        image = image.expand(-1, -1, -1, 3)
    if image.shape[-1] != wanted:
        raise ValueError(f"image: the hint has {channels} channels; {control_net.name} takes {wanted}")
    return image.movedim(-1, 1).float().clamp(0.0, 1.0).contiguous()


def _check_conditioning(conditioning, name):
    if not isinstance(conditioning, (list, tuple)) or not conditioning:
        raise ValueError(f"{name}: expected a non-empty CONDITIONING list")


def _check_percents(start_percent, end_percent):
    if not 0.0 <= float(start_percent) <= 1.0 or not 0.0 <= float(end_percent) <= 1.0:
        raise ValueError("start_percent, end_percent: must be between 0 and 1")


@tooltips({
    "conditioning": "The conditioning the ControlNet is attached to.",
    "control_net": "The ControlNet to apply.",
    "image": "The hint image (edges, depth, pose...) the ControlNet follows; resized (centre-cropped) to "
             "the image size.",
    "strength": "How strongly the ControlNet steers the image: 1 = normal, 0 = no effect, higher is "
                "stronger."})
class ControlNetApply:
    DESCRIPTION = "Applies a ControlNet to one conditioning for the whole sampling (the negative gets it too)."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "conditioning": ("CONDITIONING",),
            "control_net": ("CONTROL_NET",),
            "image": ("IMAGE",),
            "strength": ("FLOAT", dict(STRENGTH)),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "apply_controlnet"
    DEPRECATED = True
    CATEGORY = "conditioning/controlnet"

    def apply_controlnet(self, conditioning, control_net, image, strength):
        from engine.controlnet import ControlHint

        _check_conditioning(conditioning, "conditioning")
        if strength == 0:
            return (conditioning,)
        _check_control_net(control_net)
        hint = _hint(image, control_net)
        out = []
        for cond, extras in conditioning:
            control = ControlHint(control_net, hint, float(strength), previous=extras.get("control"))
            out.append([cond, {**extras, "control": control, "control_apply_to_uncond": True}])
        return (out,)


@tooltips({
    "positive": "The positive conditioning the ControlNet is attached to.",
    "negative": "The negative conditioning the ControlNet is attached to.",
    "control_net": "The ControlNet to apply.",
    "image": "The hint image (edges, depth, pose...) the ControlNet follows; resized (centre-cropped) to "
             "the image size.",
    "strength": "How strongly the ControlNet steers the image: 1 = normal, 0 = no effect, higher is "
                "stronger.",
    "start_percent": "When the ControlNet starts to act, as a fraction of the sampling: 0 = from the first "
                     "step.",
    "end_percent": "When the ControlNet stops acting, as a fraction of the sampling: 1 = until the last "
                   "step.",
    "vae": "Only needed by SD3/Flux ControlNets in ComfyUI; SD1, SD2 and SDXL ControlNets ignore it."})
class ControlNetApplyAdvanced:
    DESCRIPTION = "Applies a ControlNet to the positive and negative conditioning between two points of the sampling."

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "positive": ("CONDITIONING",),
                "negative": ("CONDITIONING",),
                "control_net": ("CONTROL_NET",),
                "image": ("IMAGE",),
                "strength": ("FLOAT", dict(STRENGTH)),
                "start_percent": ("FLOAT", {"default": 0.0, **PERCENT}),
                "end_percent": ("FLOAT", {"default": 1.0, **PERCENT}),
            },
            "optional": {"vae": ("VAE",)},
        }

    RETURN_TYPES = ("CONDITIONING", "CONDITIONING")
    RETURN_NAMES = ("positive", "negative")
    FUNCTION = "apply_controlnet"
    CATEGORY = "conditioning/controlnet"

    def apply_controlnet(self, positive, negative, control_net, image, strength, start_percent, end_percent,
                         vae=None):
        """`vae` is accepted for ComfyUI's SD3/Flux ControlNets; SD1/SD2/SDXL ones take the image itself."""
        from engine.controlnet import ControlHint

        _check_conditioning(positive, "positive")
        _check_conditioning(negative, "negative")
        if strength == 0:
            return (positive, negative)
        _check_control_net(control_net)
        _check_percents(start_percent, end_percent)
        hint = _hint(image, control_net)
        made = {}  # one ControlHint per previous chain, so entries that shared a chain still share one
        out = []
        for conditioning in (positive, negative):
            entries = []
            for cond, extras in conditioning:
                previous = extras.get("control")
                key = id(previous)
                if key not in made:
                    made[key] = ControlHint(control_net, hint, float(strength), float(start_percent),
                                            float(end_percent), previous)
                entries.append([cond, {**extras, "control": made[key], "control_apply_to_uncond": False}])
            out.append(entries)
        return (out[0], out[1])


NODE_CLASS_MAPPINGS = {
    "ControlNetLoader": ControlNetLoader,
    "DiffControlNetLoader": DiffControlNetLoader,
    "ControlNetApply": ControlNetApply,
    "ControlNetApplyAdvanced": ControlNetApplyAdvanced,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "ControlNetLoader": "Load ControlNet Model",
    "DiffControlNetLoader": "Load ControlNet Model (diff)",
    "ControlNetApply": "Apply ControlNet (OLD)",
    "ControlNetApplyAdvanced": "Apply ControlNet",
}
