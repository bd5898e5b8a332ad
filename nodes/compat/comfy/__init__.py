"""A small stand-in for ComfyUI's `comfy` package (see nodes/compat/README.md)."""
