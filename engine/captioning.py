"""Image captioning with BLIP / BLIP-2 (transformers image-to-text models).

The model folder is a transformers one: config.json, weights, and the
processor's files (processor/preprocessor config, tokenizer). Captions come from
the model's own generate(); an optional prefix makes it a conditional caption
(BLIP continues the prefix, and the caption starts with it).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from engine.errors import ModelError
from engine.hf_models import cached, on_compute_device, read_config

CAPTION_MODEL_TYPES = ("blip", "blip-2")


@dataclass
class CaptionModel:
    model: object       # BlipForConditionalGeneration / Blip2ForConditionalGeneration
    processor: object   # BlipProcessor / Blip2Processor (PIL image backend)
    name: str

    @property
    def nbytes(self) -> int:
        from engine.model_cache import weights_bytes

        return weights_bytes(self.model)


def load_caption_model(path: Path, input_name: str = "model_name") -> CaptionModel:
    """Load (once; cached) a captioning model folder from models/captioning."""
    path = Path(path)
    model_type = str(read_config(path, input_name, "captioning").get("model_type", ""))
    if model_type not in CAPTION_MODEL_TYPES:
        raise ModelError(f"{input_name}: '{path.name}' is a {model_type or 'unknown'} model, not an image "
                         f"captioning model (supported: {', '.join(CAPTION_MODEL_TYPES)})")
    return cached(path, "captioning", lambda: _load(path, input_name))


def _load(path: Path, input_name: str) -> CaptionModel:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(path, backend="pil")
        model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{input_name}: cannot load captioning model '{path.name}': {exc}") from None
    return CaptionModel(model.eval(), processor, path.name)


@torch.no_grad()
def caption_images(caption_model: CaptionModel, images: torch.Tensor, prefix: str = "",
                   max_new_tokens: int = 30, num_beams: int = 1, progress=None) -> list[str]:
    """One caption per image of an IMAGE batch; progress(done, total) after each."""
    from engine.images import image_to_pil

    captions = []
    processor = caption_model.processor
    with on_compute_device(caption_model.model) as device:
        for index, image in enumerate(images):
            pil = image_to_pil(image[..., :3]).convert("RGB")
            inputs = processor(images=pil, text=prefix or None, return_tensors="pt").to(device)
            output = caption_model.model.generate(**inputs, max_new_tokens=max_new_tokens, num_beams=num_beams)
            captions.append(processor.decode(output[0], skip_special_tokens=True).strip())
            if progress is not None:
                progress(index + 1, len(images))
    return captions
