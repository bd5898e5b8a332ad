"""How the save nodes write files, set once at start from the command line (torch-free).

--disable-metadata (ComfyUI's flag): save nodes embed neither the prompt nor the workflow.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SaveOptions:
    disable_metadata: bool = False


_options: SaveOptions | None = None


def configure(disable_metadata: bool = False) -> SaveOptions:
    global _options
    _options = SaveOptions(disable_metadata=bool(disable_metadata))
    return _options


def get() -> SaveOptions:
    """The configured options, or the defaults (metadata embedded) when nobody configured them."""
    return _options if _options is not None else SaveOptions()


def metadata_texts(prompt=None, extra_pnginfo=None) -> dict[str, str]:
    """{"prompt": json, "<extra key>": json, ...} to embed in a saved file; {} with --disable-metadata."""
    import json

    if get().disable_metadata:
        return {}
    texts = {}
    if prompt is not None:
        texts["prompt"] = json.dumps(prompt)
    for key, value in (extra_pnginfo or {}).items():
        texts[key] = json.dumps(value)
    return texts
