"""ComfyUI's `comfy.model_management` entry points that custom packs call."""

from __future__ import annotations

from graph import context
from graph.errors import Interrupted as InterruptProcessingException


def processing_interrupted() -> bool:
    ctx = context.current()
    if ctx is None:
        return False
    try:
        ctx.check_interrupt()
    except InterruptProcessingException:
        return True
    return False


def throw_exception_if_processing_interrupted() -> None:
    ctx = context.current()
    if ctx is not None:
        ctx.check_interrupt()


def get_torch_device():
    from engine import devices

    return devices.torch_device()


def intermediate_device():
    from engine import devices

    return devices.intermediate_device()


def unet_offload_device():
    from engine import devices

    return devices.offload_device()


def soft_empty_cache(force: bool = False) -> None:
    from engine import devices

    devices.empty_cache()
