"""KSampler and KSamplerAdvanced (ComfyUI's names, inputs and defaults)."""
from engine.sampling.names import (SAMPLER_NAMES, SCHEDULER_NAMES, unsupported_message)

SEED_MAX = 0xFFFFFFFFFFFFFFFF
PREVIEW_INTERVAL_S = 0.25  # at most ~4 previews a second, plus the last step


def _common_inputs(seed_name):
    return {
        "model": ("MODEL",),
        seed_name: ("INT", {"default": 0, "min": 0, "max": SEED_MAX, "control_after_generate": True}),
        "steps": ("INT", {"default": 20, "min": 1, "max": 10000}),
        "cfg": ("FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}),
        "sampler_name": (list(SAMPLER_NAMES),),
        "scheduler": (list(SCHEDULER_NAMES),),
        "positive": ("CONDITIONING",),
        "negative": ("CONDITIONING",),
        "latent_image": ("LATENT",),
    }


def _validate_names(sampler_name=None, scheduler=None):
    """ComfyUI workflows may name samplers Loom does not have: say which ones it has."""
    problems = []
    if sampler_name is not None and sampler_name not in SAMPLER_NAMES:
        problems.append(unsupported_message("sampler_name", sampler_name, SAMPLER_NAMES))
    if scheduler is not None and scheduler not in SCHEDULER_NAMES:
        problems.append(unsupported_message("scheduler", scheduler, SCHEDULER_NAMES))
    return "; ".join(problems) if problems else True


def _run(model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, **options):
    import time

    from graph import context
    from engine.sampling.ksampler import sample

    ctx = context.current()
    arch = getattr(model, "arch", "sd1")
    last_preview = [float("-inf")]

    def on_step(step, total, denoised):
        if ctx is None:
            return
        preview = None
        now = time.monotonic()
        wants_preview = ctx.previews and (step == total or now - last_preview[0] >= PREVIEW_INTERVAL_S)
        if wants_preview and denoised is not None and denoised.shape[1] == 4:
            from engine.sampling.preview import latent_to_jpeg

            preview = ("JPEG", latent_to_jpeg(denoised, arch))
            last_preview[0] = now
        ctx.progress(step, total, preview=preview)

    if ctx is not None:
        ctx.check_interrupt()
    result = sample(model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image,
                    callback=on_step, **options)
    return (result,)


class KSampler:
    @classmethod
    def INPUT_TYPES(cls):
        inputs = _common_inputs("seed")
        inputs["denoise"] = ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01})
        return {"required": inputs}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "sample"
    CATEGORY = "sampling"
    DESCRIPTION = "Denoises a latent image with the model, guided by the positive and negative conditioning."

    @classmethod
    def VALIDATE_INPUTS(cls, sampler_name=None, scheduler=None):
        return _validate_names(sampler_name, scheduler)

    def sample(self, model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image,
               denoise=1.0):
        return _run(model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image,
                    denoise=denoise)


class KSamplerAdvanced:
    @classmethod
    def INPUT_TYPES(cls):
        common = _common_inputs("noise_seed")
        inputs = {"model": common.pop("model"), "add_noise": (["enable", "disable"],)}
        inputs.update(common)
        inputs["start_at_step"] = ("INT", {"default": 0, "min": 0, "max": 10000})
        inputs["end_at_step"] = ("INT", {"default": 10000, "min": 0, "max": 10000})
        inputs["return_with_leftover_noise"] = (["disable", "enable"],)
        return {"required": inputs}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "sample"
    CATEGORY = "sampling"
    DESCRIPTION = "KSampler with control over the step range, the added noise and the noise left at the end."

    @classmethod
    def VALIDATE_INPUTS(cls, sampler_name=None, scheduler=None):
        return _validate_names(sampler_name, scheduler)

    def sample(self, model, add_noise, noise_seed, steps, cfg, sampler_name, scheduler, positive, negative,
               latent_image, start_at_step, end_at_step, return_with_leftover_noise, denoise=1.0):
        return _run(model, noise_seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image,
                    denoise=denoise, start_step=start_at_step, last_step=end_at_step,
                    add_noise=add_noise != "disable",
                    return_with_leftover_noise=return_with_leftover_noise == "enable")


NODE_CLASS_MAPPINGS = {
    "KSampler": KSampler,
    "KSamplerAdvanced": KSamplerAdvanced,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "KSampler": "KSampler",
    "KSamplerAdvanced": "KSampler (Advanced)",
}
