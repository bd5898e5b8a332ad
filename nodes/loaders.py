"""Model loader and LoRA nodes (ComfyUI's names, inputs and defaults).

File combos come from engine.folders (torch-free). The loading itself happens in
engine.checkpoints and engine.lora, imported inside the node functions so this
module imports without torch. Loaded models are cached by the engine; LoRA nodes
return clones and never change their inputs.
"""
from __future__ import annotations

import logging

from nodes._common import model_names, model_path
from nodes._tooltips import tooltips

log = logging.getLogger(__name__)

# ComfyUI's type lists, so that its workflows validate here; the runnable subset
# is engine.checkpoints.CLIP_TYPES and other types give a clear error.
CLIP_LOADER_TYPES = [
    "stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv", "pixart", "cosmos",
    "lumina2", "wan", "hidream", "chroma", "ace", "omnigen2", "qwen_image", "hunyuan_image", "flux2",
    "ovis", "sd1", "sd2",
]
DUAL_CLIP_LOADER_TYPES = [
    "sdxl", "sd3", "flux", "hunyuan_video", "hidream", "hunyuan_image", "hunyuan_video_15",
    "kandinsky5", "kandinsky5_image", "ltxv", "newbie", "ace",
]
UNET_WEIGHT_DTYPES = ["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]
DEVICE_OPTION = {"device": (["default", "cpu"], {"advanced": True})}
STRENGTH = {"default": 1.0, "min": -100.0, "max": 100.0, "step": 0.01}


class CheckpointLoaderSimple:
    DESCRIPTION = "Loads a diffusion model checkpoint, diffusion models are used to denoise latents."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "ckpt_name": (model_names("checkpoints"), {"tooltip": "The name of the checkpoint (model) to load."}),
        }}

    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    OUTPUT_TOOLTIPS = ("The model used for denoising latents.",
                       "The CLIP model used for encoding text prompts.",
                       "The VAE model used for encoding and decoding images to and from latent space.")
    FUNCTION = "load_checkpoint"
    CATEGORY = "loaders"

    def load_checkpoint(self, ckpt_name):
        from engine.checkpoints import load_checkpoint

        return load_checkpoint(model_path("checkpoints", ckpt_name, "ckpt_name"))


@tooltips({
    "model_path": "A diffusers pipeline folder (model_index.json, unet/, vae/, text_encoder/ ...) in "
                  "models/diffusers, such as an SD 1.x/2.x/XL or a text-to-video-ms model."})
class DiffusersLoader:
    DESCRIPTION = "Loads a model in diffusers' folder layout from models/diffusers (also text-to-video models)."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model_path": (model_names("diffusers"),)}}

    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    FUNCTION = "load_checkpoint"
    CATEGORY = "advanced/loaders/deprecated"

    def load_checkpoint(self, model_path, output_vae=True, output_clip=True):
        from engine.checkpoints import load_checkpoint
        from nodes import _common  # the input named model_path hides the module's model_path()

        path = _common.model_path("diffusers", model_path, "model_path", "model folder")
        if not path.is_dir():
            raise ValueError(f"model_path: '{model_path}' is a file; models/diffusers holds diffusers folders")
        return load_checkpoint(path)


@tooltips({
    "vae_name": "The VAE file in models/vae to load."})
class VAELoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"vae_name": (model_names("vae"),)}}

    RETURN_TYPES = ("VAE",)
    FUNCTION = "load_vae"
    CATEGORY = "loaders"
    DESCRIPTION = "Loads a VAE from models/vae."

    def load_vae(self, vae_name):
        from engine.checkpoints import load_vae

        return (load_vae(model_path("vae", vae_name, "vae_name")),)


@tooltips({
    "clip_name": "The text encoder file in models/text_encoders to load.",
    "type": "Which model family the encoder is for. Loom runs stable_diffusion, sd1 and sd2; other types are"
            " listed for ComfyUI workflows and give an error.",
    "device": "Where ComfyUI runs the encoder (default or cpu); accepted for compatibility, Loom uses its "
              "usual device."})
class CLIPLoader:
    DESCRIPTION = "Loads one text encoder. stable_diffusion tells SD1 (CLIP-L) and SD2 (OpenCLIP-H) apart by itself."

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "clip_name": (model_names("text_encoders"),),
                "type": (CLIP_LOADER_TYPES,),
            },
            "optional": dict(DEVICE_OPTION),
        }

    RETURN_TYPES = ("CLIP",)
    FUNCTION = "load_clip"
    CATEGORY = "advanced/loaders"

    def load_clip(self, clip_name, type="stable_diffusion", device="default"):
        from engine.checkpoints import load_clip

        _check_type(type, ("stable_diffusion", "sd1", "sd2"))
        return (load_clip([model_path("text_encoders", clip_name, "clip_name")], type),)


@tooltips({
    "clip_name1": "The first text encoder file in models/text_encoders (for SDXL: CLIP-L or OpenCLIP-bigG).",
    "clip_name2": "The second text encoder file in models/text_encoders (for SDXL: the other of the pair).",
    "type": "Which model family the pair is for. Loom runs sdxl; other types are listed for ComfyUI "
            "workflows and give an error.",
    "device": "Where ComfyUI runs the encoders (default or cpu); accepted for compatibility, Loom uses its "
              "usual device."})
class DualCLIPLoader:
    @classmethod
    def INPUT_TYPES(cls):
        files = model_names("text_encoders")
        return {
            "required": {
                "clip_name1": (files,),
                "clip_name2": (files,),
                "type": (DUAL_CLIP_LOADER_TYPES,),
            },
            "optional": dict(DEVICE_OPTION),
        }

    RETURN_TYPES = ("CLIP",)
    FUNCTION = "load_clip"
    CATEGORY = "advanced/loaders"
    DESCRIPTION = "Loads two text encoders (such as SDXL's CLIP-L and OpenCLIP-bigG) as one CLIP."

    def load_clip(self, clip_name1, clip_name2, type="sdxl", device="default"):
        from engine.checkpoints import load_clip

        _check_type(type, ("sdxl",))
        paths = [model_path("text_encoders", clip_name1, "clip_name1"),
                 model_path("text_encoders", clip_name2, "clip_name2")]
        return (load_clip(paths, "sdxl"),)


def _check_type(value, supported):
    if value not in supported:
        raise ValueError(f"type: '{value}' text encoders are not supported here; "
                         f"supported: {', '.join(supported)}")


@tooltips({
    "unet_name": "The diffusion model (UNet) file in models/diffusion_models to load.",
    "weight_dtype": "Number format for the weights. The fp8 choices save memory in ComfyUI; Loom accepts "
                    "them and loads with the default format."})
class UNETLoader:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "unet_name": (model_names("diffusion_models"),),
            "weight_dtype": (UNET_WEIGHT_DTYPES,),
        }}

    RETURN_TYPES = ("MODEL",)
    FUNCTION = "load_unet"
    CATEGORY = "advanced/loaders"
    DESCRIPTION = "Loads a diffusion model (UNet) on its own from models/diffusion_models."

    def load_unet(self, unet_name, weight_dtype="default"):
        from engine.checkpoints import load_unet

        if weight_dtype not in UNET_WEIGHT_DTYPES:
            raise ValueError(f"weight_dtype: expected one of {', '.join(UNET_WEIGHT_DTYPES)}, got {weight_dtype!r}")
        if weight_dtype != "default":
            # fp8 storage is not implemented for diffusers UNets here: use the default dtype.
            log.info("UNETLoader: weight_dtype %s falls back to the default dtype", weight_dtype)
        return (load_unet(model_path("diffusion_models", unet_name, "unet_name")),)


class LoraLoader:
    DESCRIPTION = ("LoRAs are used to modify diffusion and CLIP models, altering the way in which latents "
                   "are denoised such as applying styles. Multiple LoRA nodes can be linked together.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("MODEL", {"tooltip": "The diffusion model the LoRA will be applied to."}),
            "clip": ("CLIP", {"tooltip": "The CLIP model the LoRA will be applied to."}),
            "lora_name": (model_names("loras"), {"tooltip": "The name of the LoRA."}),
            "strength_model": ("FLOAT", dict(STRENGTH, tooltip="How strongly to modify the diffusion model. "
                                                              "This value can be negative.")),
            "strength_clip": ("FLOAT", dict(STRENGTH, tooltip="How strongly to modify the CLIP model. "
                                                             "This value can be negative.")),
        }}

    RETURN_TYPES = ("MODEL", "CLIP")
    OUTPUT_TOOLTIPS = ("The modified diffusion model.", "The modified CLIP model.")
    FUNCTION = "load_lora"
    CATEGORY = "loaders"

    def load_lora(self, model, clip, lora_name, strength_model, strength_clip):
        if strength_model == 0 and strength_clip == 0:
            return (model, clip)
        from engine.lora import load_lora_file, lora_patches

        path = model_path("loras", lora_name, "lora_name")
        state = load_lora_file(path)
        unet_patches, clip_patches = lora_patches(state, model, clip, name=path.name)
        new_model, new_clip = model, clip
        if model is not None and strength_model != 0 and unet_patches:
            new_model = model.clone()
            new_model.add_patches(unet_patches, strength_model)
        if clip is not None and strength_clip != 0 and any(clip_patches):
            new_clip = clip.clone()
            new_clip.add_patches(clip_patches, strength_clip)
        return (new_model, new_clip)


@tooltips({
    "model": "The diffusion model the LoRA is applied to; the input itself is left as it is.",
    "lora_name": "The LoRA file in models/loras.",
    "strength_model": "How strongly the LoRA changes the diffusion model: 1 = as trained, 0 = no change, "
                      "negative values push the other way."})
class LoraLoaderModelOnly(LoraLoader):
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("MODEL",),
            "lora_name": (model_names("loras"),),
            "strength_model": ("FLOAT", dict(STRENGTH)),
        }}

    RETURN_TYPES = ("MODEL",)
    FUNCTION = "load_lora_model_only"

    def load_lora_model_only(self, model, lora_name, strength_model):
        return (self.load_lora(model, None, lora_name, strength_model, 0)[0],)


NODE_CLASS_MAPPINGS = {
    "CheckpointLoaderSimple": CheckpointLoaderSimple,
    "DiffusersLoader": DiffusersLoader,
    "VAELoader": VAELoader,
    "CLIPLoader": CLIPLoader,
    "DualCLIPLoader": DualCLIPLoader,
    "UNETLoader": UNETLoader,
    "LoraLoader": LoraLoader,
    "LoraLoaderModelOnly": LoraLoaderModelOnly,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "CheckpointLoaderSimple": "Load Checkpoint",
    "DiffusersLoader": "DiffusersLoader",
    "VAELoader": "Load VAE",
    "CLIPLoader": "Load CLIP",
    "DualCLIPLoader": "DualCLIPLoader",
    "UNETLoader": "Load Diffusion Model",
    "LoraLoader": "Load LoRA",
    "LoraLoaderModelOnly": "LoraLoaderModelOnly",
}
