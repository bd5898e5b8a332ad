"""Monocular depth estimation (DPT / MiDaS-DPT, Depth Anything v1/v2) and SD2-depth conditioning.

The model folder is a transformers one: config.json, weights and
preprocessor_config.json. Each image goes through the model's own image
processor (PIL backend) and its predicted depth is resized back with the
processor's post_process_depth_estimation, exactly as transformers'
pipeline("depth-estimation") does; then it is scaled to 0..1 per image.
These models predict relative inverse depth, so near is bright, which is what
depth ControlNets and SD2-depth expect.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from engine.errors import ModelError
from engine.hf_models import cached, on_compute_device, read_config

# Models whose output is relative inverse depth (near = large). ZoeDepth and the
# metric Depth Anything checkpoints would need inverting and are refused for now.
DEPTH_MODEL_TYPES = ("dpt", "depth_anything")


@dataclass
class DepthModel:
    model: object       # transformers *ForDepthEstimation, kept on the offload device
    processor: object   # its image processor (PIL backend)
    name: str

    @property
    def nbytes(self) -> int:
        from engine.model_cache import weights_bytes

        return weights_bytes(self.model)


def load_depth_model(path: Path, input_name: str = "model_name") -> DepthModel:
    """Load (once; cached) a depth estimation model folder from models/depth."""
    path = Path(path)
    config = read_config(path, input_name, "depth")
    model_type = str(config.get("model_type", ""))
    if model_type not in DEPTH_MODEL_TYPES:
        raise ModelError(f"{input_name}: '{path.name}' is a {model_type or 'unknown'} model, not a depth "
                         f"estimation model (supported: {', '.join(DEPTH_MODEL_TYPES)})")
    if config.get("depth_estimation_type") == "metric":
        raise ModelError(f"{input_name}: '{path.name}' predicts metric depth (far = large); use a relative "
                         "depth model (near = bright), e.g. Depth-Anything-V2-Small-hf")
    return cached(path, "depth", lambda: _load(path, input_name))


def _load(path: Path, input_name: str) -> DepthModel:
    from transformers import AutoImageProcessor, AutoModelForDepthEstimation

    try:
        processor = AutoImageProcessor.from_pretrained(path, backend="pil")
        model = AutoModelForDepthEstimation.from_pretrained(path, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{input_name}: cannot load depth model '{path.name}': {exc}") from None
    return DepthModel(model.eval(), processor, path.name)


@torch.no_grad()
def estimate_depth(depth_model: DepthModel, images: torch.Tensor, progress=None) -> torch.Tensor:
    """IMAGE [B,H,W,C] -> depth IMAGE [B,H,W,3] in 0..1 (near = 1); progress(done, total) per image."""
    from engine.images import image_to_pil

    results = []
    with on_compute_device(depth_model.model) as device:
        for index, image in enumerate(images):
            pil = image_to_pil(image[..., :3]).convert("RGB")
            inputs = depth_model.processor(images=pil, return_tensors="pt").to(device)
            outputs = depth_model.model(**inputs)
            depth = depth_model.processor.post_process_depth_estimation(
                outputs, target_sizes=[(pil.height, pil.width)])[0]["predicted_depth"]
            results.append(normalise(depth.float().cpu()))
            if progress is not None:
                progress(index + 1, len(images))
    return torch.stack(results)[..., None].repeat(1, 1, 1, 3)


def normalise(depth: torch.Tensor) -> torch.Tensor:
    """Scale one depth map to 0..1 (as the depth-estimation pipeline does); flat maps become 0."""
    low, high = depth.min(), depth.max()
    if high - low <= 0:
        return torch.zeros_like(depth)
    return (depth - low) / (high - low)


def depth_concat(depth_image: torch.Tensor, input_name: str = "depth_map") -> torch.Tensor:
    """A depth IMAGE [B,H,W,C] as SD2-depth's extra UNet channel [B,1,H/8,W/8] in -1..1.

    As diffusers' StableDiffusionDepth2ImgPipeline: bicubic resize to the latent
    size, then each map scaled to -1..1. Colour depth maps are averaged to grey.
    """
    height, width = depth_image.shape[1] // 8, depth_image.shape[2] // 8
    if height < 1 or width < 1:
        raise ValueError(f"{input_name}: the depth map must be at least 8x8 pixels, "
                         f"got {depth_image.shape[2]}x{depth_image.shape[1]}")
    depth = depth_image.float().mean(dim=-1, keepdim=True).movedim(-1, 1)
    depth = F.interpolate(depth, size=(height, width), mode="bicubic", align_corners=False)
    low = torch.amin(depth, dim=[1, 2, 3], keepdim=True)
    high = torch.amax(depth, dim=[1, 2, 3], keepdim=True)
    return 2.0 * (depth - low) / (high - low).clamp_min(1e-8) - 1.0
