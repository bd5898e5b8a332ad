"""Custom sampling (ComfyUI's names, inputs and defaults): samplers, sigmas, noise and guiders
as separate nodes, joined by SamplerCustom / SamplerCustomAdvanced.

The objects are the ones KSampler itself is built from (engine.sampling): BasicScheduler +
KSamplerSelect + RandomNoise + CFGGuider through SamplerCustomAdvanced is exactly KSampler.
"""
from engine.sampling.names import SAMPLER_NAMES, SCHEDULER_NAMES
from nodes._tooltips import tooltips
from nodes.sampling import SEED_MAX, _validate_names

SIGMA_MAX = 14.614642   # SD1/SDXL sigma range: ComfyUI's defaults for the free-standing schedulers
SIGMA_MIN = 0.0291675


def _float(default, minimum, maximum, step, round_to=False):
    return ("FLOAT", {"default": default, "min": minimum, "max": maximum, "step": step, "round": round_to})


def _cfg():
    return ("FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01})


def _seed():
    return ("INT", {"default": 0, "min": 0, "max": SEED_MAX, "control_after_generate": True})


def _check_model(model, input_name="model"):
    if getattr(model, "sigmas", None) is None or not hasattr(model, "patched"):
        raise ValueError(f"{input_name}: expected a MODEL, got {type(model).__name__}")


def _check_sigmas(sigmas, input_name="sigmas"):
    """SIGMAS: a 1-D float tensor of noise levels (descending for sampling)."""
    import torch

    if not isinstance(sigmas, torch.Tensor) or sigmas.ndim != 1:
        shape = tuple(sigmas.shape) if isinstance(sigmas, torch.Tensor) else type(sigmas).__name__
        raise ValueError(f"{input_name}: expected SIGMAS, a 1-D tensor of noise levels, got {shape}")
    if not torch.isfinite(sigmas).all() or (sigmas < 0).any():
        raise ValueError(f"{input_name}: noise levels must be finite and not negative, got {sigmas.tolist()}")
    return sigmas


def _check_parts(noise, guider, sampler):
    from engine.sampling.samplers import Sampler

    if not (hasattr(noise, "generate") and hasattr(noise, "seed")):
        raise ValueError(f"noise: expected NOISE (RandomNoise or DisableNoise), got {type(noise).__name__}")
    if not (hasattr(guider, "groups") and hasattr(guider, "combine") and hasattr(guider, "model")):
        raise ValueError(f"guider: expected GUIDER (CFGGuider, BasicGuider, ...), got {type(guider).__name__}")
    if not isinstance(sampler, Sampler):
        raise ValueError(f"sampler: expected SAMPLER (from KSamplerSelect), got {type(sampler).__name__}")


def _sample(guider, noise, sampler, sigmas, latent_image):
    from engine.sampling.ksampler import sample_custom
    from nodes._sampling_progress import step_callback

    _check_parts(noise, guider, sampler)
    _check_sigmas(sigmas)
    _check_model(guider.model)
    return sample_custom(guider, noise, sampler, sigmas, latent_image, callback=step_callback(guider.model))


_LATENT_TIP = "The latent to denoise: an empty latent for text-to-image, or an encoded image."
_SAMPLER_TIP = "The sampling algorithm (from KSamplerSelect)."
_SIGMAS_TIP = "The noise levels to step through, highest first (from a scheduler node)."
_OUTPUTS = dict(RETURN_TYPES=("LATENT", "LATENT"), RETURN_NAMES=("output", "denoised_output"))


@tooltips({
    "model": "The diffusion model that denoises the latent.",
    "add_noise": "Add the seed's noise to the latent first; off: start from the latent as it is.",
    "noise_seed": "The random seed for the starting noise (and the noise of ancestral/SDE samplers).",
    "cfg": "Classifier-free guidance scale; 1 ignores the negative prompt (and runs twice as fast).",
    "positive": "The conditioning describing what the image should contain.",
    "negative": "The conditioning describing what the image should not contain.",
    "sampler": _SAMPLER_TIP, "sigmas": _SIGMAS_TIP, "latent_image": _LATENT_TIP})
class SamplerCustom:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("MODEL",),
            "add_noise": ("BOOLEAN", {"default": True}),
            "noise_seed": _seed(),
            "cfg": _cfg(),
            "positive": ("CONDITIONING",),
            "negative": ("CONDITIONING",),
            "sampler": ("SAMPLER",),
            "sigmas": ("SIGMAS",),
            "latent_image": ("LATENT",),
        }}

    RETURN_TYPES = _OUTPUTS["RETURN_TYPES"]
    RETURN_NAMES = _OUTPUTS["RETURN_NAMES"]
    FUNCTION = "sample"
    CATEGORY = "sampling/custom_sampling"
    DESCRIPTION = ("KSampler with the sampler and the noise levels given as inputs. Returns the sampled latent "
                   "and the model's fully denoised prediction at the last step.")

    def sample(self, model, add_noise, noise_seed, cfg, positive, negative, sampler, sigmas, latent_image):
        from engine.sampling.guiders import CFGGuider
        from engine.sampling.noise import DisableNoise, RandomNoise

        _check_model(model)
        noise = RandomNoise(noise_seed) if add_noise else DisableNoise(noise_seed)
        return _sample(CFGGuider(model, positive, negative, cfg), noise, sampler, sigmas, latent_image)


@tooltips({
    "noise": "The starting noise (RandomNoise, or DisableNoise to start from the latent as it is).",
    "guider": "The model and conditioning, and how they are combined (CFGGuider, BasicGuider, ...).",
    "sampler": _SAMPLER_TIP, "sigmas": _SIGMAS_TIP, "latent_image": _LATENT_TIP})
class SamplerCustomAdvanced:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "noise": ("NOISE",),
            "guider": ("GUIDER",),
            "sampler": ("SAMPLER",),
            "sigmas": ("SIGMAS",),
            "latent_image": ("LATENT",),
        }}

    RETURN_TYPES = _OUTPUTS["RETURN_TYPES"]
    RETURN_NAMES = _OUTPUTS["RETURN_NAMES"]
    FUNCTION = "sample"
    CATEGORY = "sampling/custom_sampling"
    DESCRIPTION = "Samples a latent from separate noise, guider, sampler and sigmas nodes."

    def sample(self, noise, guider, sampler, sigmas, latent_image):
        return _sample(guider, noise, sampler, sigmas, latent_image)


@tooltips({"sampler_name": "The sampling algorithm used to remove the noise step by step."})
class KSamplerSelect:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"sampler_name": (list(SAMPLER_NAMES),)}}

    RETURN_TYPES = ("SAMPLER",)
    FUNCTION = "get_sampler"
    CATEGORY = "sampling/custom_sampling/samplers"
    DESCRIPTION = "Picks one of KSampler's samplers by name."

    @classmethod
    def VALIDATE_INPUTS(cls, sampler_name=None):
        return _validate_names(sampler_name=sampler_name)

    def get_sampler(self, sampler_name):
        from engine.sampling.samplers import Sampler

        return (Sampler(sampler_name),)


_STEPS = ("INT", {"default": 20, "min": 1, "max": 10000})
_DENOISE = ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01})
_SCHEDULE_TIPS = {
    "model": "The model whose noise levels the schedule uses.",
    "steps": "Number of sampling steps.",
    "denoise": "How much of the latent is redone: below 1 keeps only the last steps of a longer schedule "
               "(image-to-image).",
    "sigma_max": "The highest noise level, where sampling starts (14.61 for SD1/SDXL).",
    "sigma_min": "The lowest noise level before the final 0 (0.0292 for SD1/SDXL).",
    "rho": "Karras' rho: higher values put more steps at low noise levels."}


@tooltips({**_SCHEDULE_TIPS, "scheduler": "How the noise level falls from step to step (KSampler's names)."})
class BasicScheduler:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": ("MODEL",), "scheduler": (list(SCHEDULER_NAMES),), "steps": _STEPS,
                             "denoise": _DENOISE}}

    RETURN_TYPES = ("SIGMAS",)
    FUNCTION = "get_sigmas"
    CATEGORY = "sampling/custom_sampling/schedulers"
    DESCRIPTION = "The noise levels KSampler would use for this scheduler, steps and denoise."

    @classmethod
    def VALIDATE_INPUTS(cls, scheduler=None):
        return _validate_names(scheduler=scheduler)

    def get_sigmas(self, model, scheduler, steps, denoise):
        from engine.sampling.discrete import DiscreteSchedule
        from engine.sampling.ksampler import sampling_sigmas

        _check_model(model)
        return (sampling_sigmas(DiscreteSchedule(model.sigmas), scheduler, int(steps), float(denoise)),)


@tooltips(_SCHEDULE_TIPS)
class KarrasScheduler:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"steps": _STEPS, "sigma_max": _float(SIGMA_MAX, 0.0, 5000.0, 0.01),
                             "sigma_min": _float(SIGMA_MIN, 0.0, 5000.0, 0.01),
                             "rho": _float(7.0, 0.0, 100.0, 0.01)}}

    RETURN_TYPES = ("SIGMAS",)
    FUNCTION = "get_sigmas"
    CATEGORY = "sampling/custom_sampling/schedulers"
    DESCRIPTION = "Karras et al.'s noise levels between sigma_max and sigma_min, then 0."

    def get_sigmas(self, steps, sigma_max, sigma_min, rho):
        from engine.sampling.schedulers import karras_sigmas

        if rho <= 0:
            raise ValueError(f"rho: must be above 0, got {rho}")
        return (karras_sigmas(int(steps), float(sigma_min), float(sigma_max), float(rho)).float(),)


@tooltips(_SCHEDULE_TIPS)
class ExponentialScheduler:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"steps": _STEPS, "sigma_max": _float(SIGMA_MAX, 0.0, 5000.0, 0.01),
                             "sigma_min": _float(SIGMA_MIN, 0.0, 5000.0, 0.01)}}

    RETURN_TYPES = ("SIGMAS",)
    FUNCTION = "get_sigmas"
    CATEGORY = "sampling/custom_sampling/schedulers"
    DESCRIPTION = "Noise levels evenly spaced in log sigma between sigma_max and sigma_min, then 0."

    def get_sigmas(self, steps, sigma_max, sigma_min):
        from engine.sampling.schedulers import exponential_sigmas

        for name, value in (("sigma_max", sigma_max), ("sigma_min", sigma_min)):
            if value <= 0:
                raise ValueError(f"{name}: must be above 0 for an exponential schedule, got {value}")
        return (exponential_sigmas(int(steps), float(sigma_min), float(sigma_max)).float(),)


@tooltips({**_SCHEDULE_TIPS, "steps": "Number of steps, 1 to 10 (SDXL Turbo / SD Turbo use 1 to 4).",
           "denoise": "Below 1 starts at a later one of the ten turbo timesteps (image-to-image)."})
class SDTurboScheduler:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": ("MODEL",), "steps": ("INT", {"default": 1, "min": 1, "max": 10}),
                             "denoise": ("FLOAT", {"default": 1.0, "min": 0, "max": 1.0, "step": 0.01})}}

    RETURN_TYPES = ("SIGMAS",)
    FUNCTION = "get_sigmas"
    CATEGORY = "sampling/custom_sampling/schedulers"
    DESCRIPTION = "The timesteps SD Turbo and SDXL Turbo were distilled on (999, 899, ...), for 1-10 steps."

    def get_sigmas(self, model, steps, denoise):
        from engine.sampling.discrete import DiscreteSchedule
        from engine.sampling.schedulers import sd_turbo

        _check_model(model)
        return (sd_turbo(DiscreteSchedule(model.sigmas), int(steps), float(denoise)),)


@tooltips({"sigmas": "The noise levels to split.",
           "step": "Where to split: high_sigmas runs up to this step, low_sigmas from it on (they share it)."})
class SplitSigmas:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"sigmas": ("SIGMAS",), "step": ("INT", {"default": 0, "min": 0, "max": 10000})}}

    RETURN_TYPES = ("SIGMAS", "SIGMAS")
    RETURN_NAMES = ("high_sigmas", "low_sigmas")
    FUNCTION = "get_sigmas"
    CATEGORY = "sampling/custom_sampling/sigmas"
    DESCRIPTION = "Splits a schedule in two at a step, e.g. to sample the first steps with another model."

    def get_sigmas(self, sigmas, step):
        _check_sigmas(sigmas)
        return (sigmas[:step + 1], sigmas[step:])


@tooltips({"sigmas": "The noise levels to reverse."})
class FlipSigmas:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"sigmas": ("SIGMAS",)}}

    RETURN_TYPES = ("SIGMAS",)
    FUNCTION = "get_sigmas"
    CATEGORY = "sampling/custom_sampling/sigmas"
    DESCRIPTION = ("Reverses a schedule (lowest noise first, a leading 0 becomes 0.0001), for unsampling an "
                   "image back towards noise.")

    def get_sigmas(self, sigmas):
        _check_sigmas(sigmas)
        flipped = sigmas.flip(0)
        if len(flipped) and float(flipped[0]) == 0.0:
            flipped[0] = 0.0001
        return (flipped,)


@tooltips({"noise_seed": "The random seed for the starting noise (and the noise of ancestral/SDE samplers)."})
class RandomNoise:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"noise_seed": _seed()}}

    RETURN_TYPES = ("NOISE",)
    FUNCTION = "get_noise"
    CATEGORY = "sampling/custom_sampling/noise"
    DESCRIPTION = "Seeded starting noise, the same as KSampler's for the same seed."

    def get_noise(self, noise_seed):
        from engine.sampling.noise import RandomNoise as Noise

        return (Noise(noise_seed),)


class DisableNoise:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    RETURN_TYPES = ("NOISE",)
    FUNCTION = "get_noise"
    CATEGORY = "sampling/custom_sampling/noise"
    DESCRIPTION = "No starting noise: sample from the latent as it is (e.g. one with leftover noise)."

    def get_noise(self):
        from engine.sampling.noise import DisableNoise as Noise

        return (Noise(),)


_GUIDER_TIPS = {
    "model": "The diffusion model that denoises the latent.",
    "positive": "The conditioning describing what the image should contain.",
    "negative": "The conditioning describing what the image should not contain.",
    "cfg": "Classifier-free guidance scale; 1 ignores the negative prompt.",
    "conditioning": "The conditioning to follow (no negative, no guidance scale).",
    "cond1": "The main prompt's conditioning.",
    "cond2": "A second prompt's conditioning, between cond1 and the negative.",
    "cfg_conds": "Guidance from cond2 towards cond1.",
    "cfg_cond2_negative": "Guidance from the negative towards cond2.",
    "style": "regular: the two guidances are added; nested: cond1's guidance is applied inside cond2's."}


@tooltips(_GUIDER_TIPS)
class CFGGuider:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": ("MODEL",), "positive": ("CONDITIONING",), "negative": ("CONDITIONING",),
                             "cfg": _cfg()}}

    RETURN_TYPES = ("GUIDER",)
    FUNCTION = "get_guider"
    CATEGORY = "sampling/custom_sampling/guiders"
    DESCRIPTION = "Classifier-free guidance, as in KSampler."

    def get_guider(self, model, positive, negative, cfg):
        from engine.sampling.guiders import CFGGuider as Guider

        _check_model(model)
        return (Guider(model, positive, negative, cfg),)


@tooltips(_GUIDER_TIPS)
class BasicGuider:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": ("MODEL",), "conditioning": ("CONDITIONING",)}}

    RETURN_TYPES = ("GUIDER",)
    FUNCTION = "get_guider"
    CATEGORY = "sampling/custom_sampling/guiders"
    DESCRIPTION = "Follows one conditioning without classifier-free guidance (one model call per step)."

    def get_guider(self, model, conditioning):
        from engine.sampling.guiders import BasicGuider as Guider

        _check_model(model)
        return (Guider(model, conditioning),)


@tooltips(_GUIDER_TIPS)
class DualCFGGuider:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": ("MODEL",), "cond1": ("CONDITIONING",), "cond2": ("CONDITIONING",),
                             "negative": ("CONDITIONING",), "cfg_conds": _cfg(), "cfg_cond2_negative": _cfg(),
                             "style": (["regular", "nested"],)}}

    RETURN_TYPES = ("GUIDER",)
    FUNCTION = "get_guider"
    CATEGORY = "sampling/custom_sampling/guiders"
    DESCRIPTION = "Guidance with two prompts and a negative, each pair with its own scale."

    def get_guider(self, model, cond1, cond2, negative, cfg_conds, cfg_cond2_negative, style="regular"):
        from engine.sampling.guiders import DualCFGGuider as Guider

        _check_model(model)
        if style not in ("regular", "nested"):
            raise ValueError(f"style: expected 'regular' or 'nested', got {style!r}")
        return (Guider(model, cond1, cond2, negative, cfg_conds, cfg_cond2_negative, nested=style == "nested"),)


NODE_CLASS_MAPPINGS = {
    "SamplerCustom": SamplerCustom,
    "SamplerCustomAdvanced": SamplerCustomAdvanced,
    "KSamplerSelect": KSamplerSelect,
    "BasicScheduler": BasicScheduler,
    "KarrasScheduler": KarrasScheduler,
    "ExponentialScheduler": ExponentialScheduler,
    "SDTurboScheduler": SDTurboScheduler,
    "SplitSigmas": SplitSigmas,
    "FlipSigmas": FlipSigmas,
    "RandomNoise": RandomNoise,
    "DisableNoise": DisableNoise,
    "CFGGuider": CFGGuider,
    "BasicGuider": BasicGuider,
    "DualCFGGuider": DualCFGGuider,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "SamplerCustom": "SamplerCustom",
    "SamplerCustomAdvanced": "SamplerCustomAdvanced",
    "CFGGuider": "CFG Guider",
    "BasicGuider": "Basic Guider",
    "DualCFGGuider": "Dual CFG Guider",
}
