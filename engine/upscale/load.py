"""Load an upscale model file: safetensors always, pickles only when allowed (engine.safe_load)."""
from __future__ import annotations

from pathlib import Path

from engine.errors import ModelError


def load_upscale_model(path, allow_pickle: bool | None = None):
    """The UpscaleModel in `path`, cached by path and modification time; ModelError naming the file."""
    from engine import model_cache

    path = Path(path)
    key = model_cache.cache_key(path, "upscale_model")
    return model_cache.get().get_or_load(key, lambda: _load(path, allow_pickle))


def _load(path: Path, allow_pickle):
    from engine.safe_load import load_state_dict
    from engine.upscale.layouts import network_sizes, to_basicsr
    from engine.upscale.model import UpscaleModel
    from engine.upscale.rrdb import RRDBNet

    if path.is_dir():
        raise ModelError(f"{path.name}: is a folder; upscale models are single .safetensors files")
    state = load_state_dict(path, allow_pickle=allow_pickle)
    try:
        state, layout = to_basicsr(state)
        sizes = network_sizes(state)
    except ModelError as error:
        raise ModelError(f"{path.name}: {error}") from None
    if 2 ** sizes["upsamples"] % sizes["unshuffle"]:
        raise ModelError(f"{path.name}: unsupported scale (x{2 ** sizes['upsamples']} upsampling after a "
                         f"/{sizes['unshuffle']} pixel-unshuffle)")
    network = RRDBNet(**sizes)
    try:
        result = network.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    except RuntimeError as error:  # tensor shapes that do not fit together
        raise ModelError(f"{path.name}: tensor sizes do not form an RRDB network ({str(error)[:300]})") from None
    if result.missing_keys or result.unexpected_keys:
        missing = ", ".join(result.missing_keys[:3])
        extra = ", ".join(result.unexpected_keys[:3])
        raise ModelError(f"{path.name}: an RRDB network with unexpected tensors"
                         + (f"; missing {missing}" if missing else "")
                         + (f"; not part of ESRGAN: {extra}" if extra else "")
                         + " (variants such as ESRGAN+ or SPSR are not supported)")
    return UpscaleModel(network, path.name, layout)
