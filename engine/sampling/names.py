"""Sampler and scheduler names, torch-free (node schemas import this at startup).

COMFY_* hold every name ComfyUI's KSampler offers, in its order, as plain data.
SAMPLER_NAMES / SCHEDULER_NAMES are the subset Loom implements, in the same order;
the KSampler nodes offer only these, and a workflow naming another one fails
validation with `unsupported_message(...)`.
"""

COMFY_SAMPLER_NAMES = [
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2",
    "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp",
    "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu",
    "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "deis",
    "res_multistep", "res_multistep_cfg_pp", "res_multistep_ancestral",
    "res_multistep_ancestral_cfg_pp", "gradient_estimation", "gradient_estimation_cfg_pp",
    "er_sde", "seeds_2", "seeds_3", "sa_solver", "sa_solver_pece",
    "ddim", "uni_pc", "uni_pc_bh2",
]

COMFY_SCHEDULER_NAMES = [
    "normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta",
    "linear_quadratic", "kl_optimal",
]

_IMPLEMENTED_SAMPLERS = {
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "dpm_2",
    "dpm_2_ancestral", "lms",
    "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "deis",
    "ddim", "uni_pc", "uni_pc_bh2",
}

_IMPLEMENTED_SCHEDULERS = {
    "normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta", "linear_quadratic",
    "kl_optimal",
}

SAMPLER_NAMES = [name for name in COMFY_SAMPLER_NAMES if name in _IMPLEMENTED_SAMPLERS]
SCHEDULER_NAMES = [name for name in COMFY_SCHEDULER_NAMES if name in _IMPLEMENTED_SCHEDULERS]


def unsupported_message(input_name: str, value, supported: list) -> str:
    return f"{input_name}: {value!r} is not supported, supported are: {', '.join(supported)}"


def check_sampler_name(name) -> None:
    if name not in SAMPLER_NAMES:
        raise ValueError(unsupported_message("sampler_name", name, SAMPLER_NAMES))


def check_scheduler_name(name) -> None:
    if name not in SCHEDULER_NAMES:
        raise ValueError(unsupported_message("scheduler", name, SCHEDULER_NAMES))
