"""Read model weight files: safetensors always, pickles only when allowed.

Pickle files (.ckpt/.pt/.pth/.bin) can run code when loaded. They are refused
unless the process was started with allow_pickle (engine.devices.configure) or
the caller passes allow_pickle=True, and even then they are read with
torch.load(weights_only=True), which refuses anything but tensors and plain data.
"""
from __future__ import annotations

from pathlib import Path

import torch

from engine import devices
from engine.errors import ModelError

SAFETENSORS_SUFFIXES = (".safetensors", ".sft")
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pt2")


def load_state_dict(path, allow_pickle: bool | None = None, device="cpu") -> dict[str, torch.Tensor]:
    """All tensors of a weights file as {name: tensor}; ModelError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES:
        return _load_safetensors(path, device)
    if suffix in PICKLE_SUFFIXES:
        if allow_pickle is None:
            allow_pickle = devices.allow_pickle()
        if not allow_pickle:
            raise ModelError(
                f"{path.name}: pickle files ({suffix}) can run code when loaded and are refused; "
                "convert it to .safetensors, or start with --allow-pickle to load it with weights_only=True"
            )
        return _load_pickle(path, device)
    raise ModelError(f"{path.name}: unknown weights format {suffix!r} (expected .safetensors)")


def read_metadata(path) -> dict[str, str]:
    """The safetensors header metadata ({} for other files)."""
    path = Path(path)
    if path.suffix.lower() not in SAFETENSORS_SUFFIXES:
        return {}
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except Exception as error:  # the library raises several types for bad headers
        raise ModelError(f"{path.name}: not a valid safetensors file ({error})") from error


def _load_safetensors(path: Path, device) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(device))
    except Exception as error:
        raise ModelError(f"{path.name}: not a valid safetensors file ({error})") from error


def _load_pickle(path: Path, device) -> dict[str, torch.Tensor]:
    try:
        data = torch.load(str(path), map_location=device, weights_only=True)
    except Exception as error:
        raise ModelError(f"{path.name}: could not be read as a weights-only checkpoint ({error})") from error
    # Training frameworks wrap the weights: Lightning in "state_dict", BasicSR (Real-ESRGAN) in "params_ema"/"params".
    for wrapper in ("state_dict", "params_ema", "params"):
        if isinstance(data, dict) and isinstance(data.get(wrapper), dict):
            data = data[wrapper]
            break
    if not isinstance(data, dict):
        raise ModelError(f"{path.name}: holds {type(data).__name__}, not a dict of tensors")
    return {key: value for key, value in data.items() if isinstance(value, torch.Tensor)}
