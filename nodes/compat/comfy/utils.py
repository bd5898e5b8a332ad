"""ComfyUI's `comfy.utils` helpers that custom packs use most."""

from __future__ import annotations

from graph import context


class ProgressBar:
    """Reports a node's progress; raises when the prompt was interrupted."""

    def __init__(self, total: int, node_id=None):
        self.total = total
        self.current = 0
        self.node_id = node_id

    def update_absolute(self, value, total=None, preview=None):
        if total is not None:
            self.total = total
        self.current = min(value, self.total)
        ctx = context.current()
        if ctx is not None:
            ctx.progress(self.current, self.total)
            if preview is not None and isinstance(preview, tuple) and len(preview) >= 2:
                image_format, image = preview[0], preview[1]
                if hasattr(image, "save"):
                    import io

                    buffer = io.BytesIO()
                    image.save(buffer, format=image_format)
                    image = buffer.getvalue()
                ctx.preview(image_format, image)

    def update(self, value):
        self.update_absolute(self.current + value)


def load_torch_file(path, safe_load=True, device=None, return_metadata=False):
    """Load a state dict; pickles only when the user allowed them (engine.safe_load)."""
    from engine import safe_load as _safe_load

    state_dict = _safe_load.load_state_dict(path, device=device or "cpu")
    if return_metadata:
        return state_dict, _safe_load.read_metadata(path)
    return state_dict
