"""The step callback every sampler node passes to engine.sampling: progress, previews, interrupts."""
from __future__ import annotations

import time

PREVIEW_INTERVAL_S = 0.25  # at most ~4 previews a second, plus the last step


def step_callback(model):
    """callback(step, total, x0) reporting to the running prompt (None outside one).

    Checks for an interrupt first, so a stopped prompt does not start sampling; the
    context's progress() raises graph.errors.Interrupted once an interrupt is asked.
    """
    from graph import context

    ctx = context.current()
    if ctx is None:
        return None
    ctx.check_interrupt()
    arch = getattr(model, "arch", "sd1")
    last_preview = [float("-inf")]

    def on_step(step, total, denoised):
        preview = None
        now = time.monotonic()
        wants_preview = ctx.previews and (step == total or now - last_preview[0] >= PREVIEW_INTERVAL_S)
        if wants_preview and denoised is not None and denoised.shape[1] == 4:
            from engine.sampling.preview import latent_to_jpeg

            preview = ("JPEG", latent_to_jpeg(denoised, arch))
            last_preview[0] = now
        ctx.progress(step, total, preview=preview)

    return on_step
