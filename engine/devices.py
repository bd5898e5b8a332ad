"""The one place that decides the device and dtypes for models.

Torch is imported inside the functions so that start-up (which only calls
`configure`) stays fast. Nothing is chosen at import: `configure(...)` stores the start-up flags and
`torch_device()` decides on its first call (CUDA, then MPS, then CPU).
fp16 is never used on CPU (it is tens of times slower there); bf16 only if asked.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DeviceSettings:
    cpu: bool = False
    lowvram: bool = False
    novram: bool = False
    force_fp32: bool = False
    force_fp16: bool = False
    bf16: bool = False
    allow_pickle: bool = False
    device: torch.device | None = None  # decided lazily


_settings: DeviceSettings | None = None


def configure(cpu=False, lowvram=False, novram=False, force_fp32=False, force_fp16=False, bf16=False,
              allow_pickle=False) -> DeviceSettings:
    """Set the device flags for this process (server.py at start, or tests)."""
    global _settings
    _settings = DeviceSettings(cpu=cpu, lowvram=lowvram, novram=novram, force_fp32=force_fp32,
                               force_fp16=force_fp16, bf16=bf16, allow_pickle=allow_pickle)
    return _settings


def settings() -> DeviceSettings:
    global _settings
    if _settings is None:
        _settings = DeviceSettings()
    return _settings


def torch_device() -> torch.device:
    import torch

    current = settings()
    if current.device is None:
        if current.cpu:
            current.device = torch.device("cpu")
        elif torch.cuda.is_available():
            current.device = torch.device("cuda", torch.cuda.current_device())
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            current.device = torch.device("mps")
        else:
            current.device = torch.device("cpu")
    return current.device


def _model_dtype() -> torch.dtype:
    import torch

    current = settings()
    device = torch_device()
    if current.force_fp32:
        return torch.float32
    if device.type == "cpu":
        return torch.bfloat16 if current.bf16 else torch.float32
    if current.bf16:
        return torch.bfloat16
    return torch.float16  # the well-trodden path for SD1/SD2/SDXL on GPU


def unet_dtype() -> torch.dtype:
    return _model_dtype()


def text_encoder_dtype() -> torch.dtype:
    return _model_dtype()


def vae_dtype() -> torch.dtype:
    """The SD1/SD2/SDXL VAEs overflow in fp16; use bf16 where supported, else fp32."""
    import torch

    current = settings()
    device = torch_device()
    if current.force_fp32 or device.type != "cuda":
        return torch.bfloat16 if (device.type == "cpu" and current.bf16) else torch.float32
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def upscale_dtype() -> torch.dtype:
    """Upscale models run in float32 (as in ComfyUI) unless bf16 was asked for."""
    import torch

    return torch.bfloat16 if settings().bf16 and not settings().force_fp32 else torch.float32


def intermediate_device() -> torch.device:
    import torch

    return torch.device("cpu")


def offload_device() -> torch.device:
    import torch

    return torch.device("cpu")


def allow_pickle() -> bool:
    return settings().allow_pickle


def empty_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        mps.empty_cache()


def free_memory(device: torch.device | None = None) -> int:
    """Bytes free on the device (system RAM for CPU)."""
    import torch

    device = device or torch_device()
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)
