"""Shared pieces for the Hugging Face (transformers) models behind the analysis nodes.

Depth estimators and captioners are transformers model folders (config.json plus
weights and the processor's config files). They are cached on the CPU by
engine.model_cache and moved to the compute device only while they run.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from engine import devices, model_cache
from engine.errors import ModelError


def read_config(path: Path, input_name: str, folder: str) -> dict:
    """A model folder's config.json; ModelError when it is not such a folder."""
    config_file = Path(path) / "config.json"
    if not config_file.is_file():
        raise ModelError(f"{input_name}: '{Path(path).name}' is not a Hugging Face model folder "
                         f"(no config.json) in models/{folder}")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{input_name}: cannot read {config_file.name} of '{Path(path).name}': {exc}") from None
    if not isinstance(config, dict):
        raise ModelError(f"{input_name}: {config_file.name} of '{Path(path).name}' is not a model config")
    return config


def cached(path: Path, kind: str, loader):
    """The object loader() makes for this folder, loaded once and kept by engine.model_cache."""
    return model_cache.get().get_or_load(model_cache.cache_key(path, kind), loader)


@contextlib.contextmanager
def on_compute_device(model):
    """Move a torch module to the compute device for the duration, then back to the offload device."""
    device = devices.torch_device()
    model.to(device)
    try:
        yield device
    finally:
        model.to(devices.offload_device())
        if device.type != "cpu":
            devices.empty_cache()
