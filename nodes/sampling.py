"""KSampler and KSamplerAdvanced (ComfyUI's names, inputs and defaults)."""
from engine.sampling.names import (SAMPLER_NAMES, SCHEDULER_NAMES, unsupported_message)
from nodes._tooltips import tooltips

SEED_MAX = 0xFFFFFFFFFFFFFFFF


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
    from engine.sampling.ksampler import sample
    from nodes._sampling_progress import step_callback

    callback = step_callback(model)
    result = sample(model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image,
                    callback=callback, **options)
    return (result,)


_SAMPLER_TIPS = {
    "model": "The diffusion model that denoises the latent.",
    "cfg": "Classifier-free guidance scale: how strongly the prompt is followed. 1 disables the negative "
           "prompt's effect; about 5-9 is typical; high values give harsh, burnt images.",
    "sampler_name": "The sampling algorithm used to remove the noise step by step.",
    "scheduler": "How the noise level falls from step to step (the spacing of the steps).",
    "positive": "The conditioning describing what the image should contain.",
    "negative": "The conditioning describing what the image should not contain.",
}


@tooltips({
    **_SAMPLER_TIPS,
    "seed": "The random seed for the starting noise; the same seed and settings give the same image.",
    "steps": "Number of denoising steps; more steps take longer and usually add detail, with little gain "
             "past 30-40 for most samplers.",
    "latent_image": "The latent to denoise: an empty latent for text-to-image, or an encoded image.",
    "denoise": "How much of the latent is redone: 1 replaces it entirely (text-to-image), lower values keep "
               "more of the input (image-to-image), 0 returns it unchanged."})
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


@tooltips({
    **_SAMPLER_TIPS,
    "add_noise": "enable: add the seed's noise to the latent first; disable: use the latent as it is, for "
                 "example one returned with leftover noise by an earlier sampler.",
    "noise_seed": "The random seed for the added noise; the same seed and settings give the same image.",
    "steps": "Total number of steps in the schedule; start_at_step and end_at_step pick a part of it.",
    "latent_image": "The latent to denoise.",
    "start_at_step": "The schedule step to start at; 0 starts from full noise, higher skips the first steps.",
    "end_at_step": "The schedule step to stop at; values at or above steps run to the end.",
    "return_with_leftover_noise": "enable: stop with the remaining noise still in the latent, to hand it on "
                                  "to another sampler; disable: finish fully denoised."})
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
