"""Small helpers shared by node modules: model files, image checks, progress.

Torch-free at import, like every node module.
"""
from __future__ import annotations


def progress_reporter():
    """progress(done, total) for the running node (raises on interrupt), or None outside an execution."""
    from graph import context

    current = context.current()
    return current.progress if current is not None else None


def check_image(image, input_name: str = "image", min_size: int = 1) -> None:
    """ValueError naming the input unless `image` is an IMAGE [B,H,W,C] (C 1, 3 or 4) of at least min_size px."""
    import torch

    if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        shape = list(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"{input_name}: expected an IMAGE [batch, height, width, 3], got {shape}")
    if image.shape[0] < 1:
        raise ValueError(f"{input_name}: the image batch is empty")
    if image.shape[1] < min_size or image.shape[2] < min_size:
        raise ValueError(f"{input_name}: the image must be at least {min_size}x{min_size} pixels, "
                         f"got {image.shape[2]}x{image.shape[1]}")


def model_path(folder: str, name: str, input_name: str, kind: str = "file"):
    """The path of `name` in models/<folder>; ValueError naming the input when it is not there."""
    from engine import folders

    if not isinstance(name, str) or not name:
        raise ValueError(f"{input_name}: expected a {kind} name from models/{folder}")
    path = folders.get().full_path(folder, name)
    if path is None:
        raise ValueError(f"{input_name}: {kind} '{name}' not found in models/{folder}")
    return path


def model_folder(folder: str, name: str, input_name: str):
    """The model (a file or a Hugging Face folder) `name` in models/<folder>; ValueError naming the input."""
    path = model_path(folder, name, input_name, "model")
    if not path.is_dir():
        raise ValueError(f"{input_name}: '{name}' is a single file; models/{folder} expects a Hugging Face "
                         "model folder (config.json, weights and processor files)")
    return path


def model_names(folder: str) -> list[str]:
    from engine import folders

    return folders.get().list_files(folder)
