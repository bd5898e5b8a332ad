"""Textual-inversion embeddings ("embedding:name" in a prompt), read from models/embeddings.

Accepted file layouts:
    A1111 .pt       {"string_to_param": {"*": tensor [n, D]}, ...}
    .safetensors    {"emb_params": tensor [n, D]}
    SDXL            {"clip_l": tensor [n, 768], "clip_g": tensor [n, 1280]}
    any file holding a single tensor [n, D] or [D]

Pickle files (.pt/.bin) are read only when pickles are allowed
(engine.devices.configure(allow_pickle=True)), and then with weights_only=True.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from engine import folders
from engine.errors import ModelError

log = logging.getLogger(__name__)

PREFIX = "embedding:"
_SUFFIXES = ("", ".safetensors", ".sft", ".pt", ".bin", ".pth")
_PICKLE_SUFFIXES = (".pt", ".bin", ".pth", ".ckpt")


def find_embedding(name: str) -> Path | None:
    """The file for an embedding name (with or without its extension), or None."""
    found = folders.get()
    for suffix in _SUFFIXES:
        path = found.full_path("embeddings", name + suffix)
        if path is not None and path.is_file():
            return path
    return None


def lookup(name: str, width: int, key: str | None = None) -> tuple[torch.Tensor | None, str]:
    """(vectors [n, width] or None, leftover text) for the word after "embedding:".

    As in ComfyUI, punctuation glued to the name ("embedding:foo,") is tried
    without it and handed back as leftover text to tokenize normally. A missing
    embedding logs a warning and gives None.
    """
    candidates = [name]
    stripped = name.rstrip(",.;:!?")
    if stripped and stripped != name:
        candidates.append(stripped)
    for candidate in candidates:
        path = find_embedding(candidate)
        if path is not None:
            return load_embedding(path, width, key), name[len(candidate):]
    log.warning("embedding:%s does not exist in models/embeddings, ignoring", name)
    return None, ""


def load_embedding(path, width: int, key: str | None = None) -> torch.Tensor | None:
    """Vectors [n, width] float32 from an embedding file; None (with a warning) if none fit."""
    path = Path(path)
    data = _read(path)
    tensors = _tensors_in(data)
    if key is not None and isinstance(data, dict) and isinstance(data.get(key), torch.Tensor):
        chosen = [data[key]]
    else:
        chosen = [t for t in tensors if t.shape[-1] == width]
    if not chosen:
        shapes = [tuple(t.shape) for t in tensors]
        log.warning("embedding %s: no vectors of width %d (found %s), ignoring", path.name, width, shapes)
        return None
    vectors = chosen[0].detach().to(dtype=torch.float32, device="cpu")
    if vectors.shape[-1] != width:
        log.warning("embedding %s: width %d does not fit this text encoder (%d), ignoring",
                    path.name, vectors.shape[-1], width)
        return None
    return vectors.reshape(-1, width)


def _read(path: Path):
    suffix = path.suffix.lower()
    if suffix in (".safetensors", ".sft"):
        from engine.safe_load import load_state_dict

        return load_state_dict(path)
    if suffix in _PICKLE_SUFFIXES:
        from engine import devices

        if not devices.allow_pickle():
            raise ModelError(
                f"embedding {path.name}: pickle files ({suffix}) can run code when loaded and are refused; "
                "convert it to .safetensors, or start with --allow-pickle to load it with weights_only=True")
        try:
            return torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as error:
            raise ModelError(f"embedding {path.name}: could not be read ({error})") from error
    raise ModelError(f"embedding {path.name}: unknown file type {suffix!r} (expected .safetensors)")


def _tensors_in(data) -> list[torch.Tensor]:
    """The candidate vector tensors of a loaded file, most specific layout first."""
    if isinstance(data, torch.Tensor):
        return [data]
    if not isinstance(data, dict):
        return []
    params = data.get("string_to_param")
    if isinstance(params, dict):
        return [t for t in params.values() if isinstance(t, torch.Tensor)]
    if isinstance(data.get("emb_params"), torch.Tensor):
        return [data["emb_params"]]
    return [t for t in data.values() if isinstance(t, torch.Tensor) and t.dim() in (1, 2)]
