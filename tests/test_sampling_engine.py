"""engine.sampling: schedules, samplers, denoiser conditioning, noise and KSampler options."""
import math

import numpy as np
import pytest
import torch

from engine.model import DiffusionModel
from engine.sampling import names
from engine.sampling.denoiser import Denoiser
from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.ksampler import sample, sampling_sigmas
from engine.sampling.noise import initial_noise
from engine.sampling.schedulers import _beta_cdf, _beta_ppf, compute_sigmas
from tests.tiny_models import tiny_unet

LATENT = (1, 4, 8, 8)


@pytest.fixture(scope="module")
def model():
    return DiffusionModel(tiny_unet("sd1"), "sd1")


@pytest.fixture(scope="module")
def conds():
    generator = torch.Generator().manual_seed(11)
    return [torch.randn(1, 77, 32, generator=generator) for _ in range(4)]


def _run(model, conds, sampler_name="euler", scheduler="normal", steps=4, seed=5, latent=None, **options):
    latent = latent or {"samples": torch.zeros(LATENT)}
    return sample(model, seed, steps, 5.0, sampler_name, scheduler, [[conds[0], {}]], [[conds[1], {}]],
                  latent, **options)["samples"]


# --- schedules -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def schedule(model):
    return DiscreteSchedule(model.sigmas)


@pytest.mark.parametrize("scheduler", names.SCHEDULER_NAMES)
def test_every_schedule_descends_to_zero(schedule, scheduler):
    sigmas = compute_sigmas(scheduler, schedule, 10)
    assert sigmas[-1] == 0
    assert len(sigmas) == 11
    assert torch.all(sigmas[:-1] > sigmas[1:])
    assert float(sigmas[0]) <= schedule.sigma_max * (1 + 1e-5)


def test_normal_schedule_hits_table_sigmas_on_integer_timesteps(schedule):
    sigmas = compute_sigmas("normal", schedule, 10)  # timesteps 999, 888, ..., 0
    expected = schedule.sigmas[[999 - 111 * i for i in range(10)]]
    assert torch.allclose(sigmas[:-1], expected, rtol=1e-5)


def test_kl_optimal_is_even_in_arctan_sigma(schedule):
    angles = compute_sigmas("kl_optimal", schedule, 6)[:-1].double().atan()
    steps = angles[:-1] - angles[1:]
    assert torch.allclose(steps, steps.mean().expand_as(steps), rtol=1e-4)
    assert float(angles[0].tan()) == pytest.approx(schedule.sigma_max, rel=1e-5)


def test_linear_quadratic_is_linear_then_quadratic(schedule):
    fractions = 1 - compute_sigmas("linear_quadratic", schedule, 8).double() / schedule.sigma_max
    first = fractions[1:5] - fractions[:4]
    assert torch.allclose(first, torch.full_like(first, 0.025 / 4))  # linear part up to the threshold
    assert fractions[4] == pytest.approx(0.025) and fractions[-1] == pytest.approx(1.0)
    second_differences = fractions[6:] - 2 * fractions[5:-1] + fractions[4:-2]
    assert torch.allclose(second_differences, second_differences[:1].expand_as(second_differences), atol=1e-6)


def test_karras_schedule_follows_its_formula(schedule):
    sigmas = compute_sigmas("karras", schedule, 5)
    rho = 7.0
    for i, value in enumerate(sigmas[:-1].tolist()):
        ramp = i / 4
        expected = (schedule.sigma_max ** (1 / rho) + ramp * (schedule.sigma_min ** (1 / rho) - schedule.sigma_max ** (1 / rho))) ** rho
        assert value == pytest.approx(expected, rel=1e-5)


def test_beta_distribution_helpers_match_numerical_integration():
    x = np.linspace(0, 0.3, 300001)[1:]
    density = x ** -0.4 * (1 - x) ** -0.4 / math.exp(2 * math.lgamma(0.6) - math.lgamma(1.2))
    # integral of the density from 0 to 0.3, with the singular part at 0 integrated analytically
    head = 0.3 / 300000
    numeric = np.trapezoid(density, x) + head ** 0.6 / 0.6 / math.exp(2 * math.lgamma(0.6) - math.lgamma(1.2))
    assert _beta_cdf(0.3, 0.6, 0.6) == pytest.approx(numeric, rel=2e-3)
    assert _beta_ppf(0.5, 0.6, 0.6) == pytest.approx(0.5, abs=1e-9)
    assert _beta_cdf(_beta_ppf(0.123, 0.6, 0.6), 0.6, 0.6) == pytest.approx(0.123, abs=1e-9)


def test_timestep_and_sigma_are_inverse(schedule):
    t = torch.tensor([0.0, 10.25, 500.3, 998.75])
    assert torch.allclose(schedule.timestep(schedule.sigma(t)), t, atol=1e-3)
    rounded = DiscreteSchedule(schedule.sigmas, round_timesteps=True)
    assert torch.equal(rounded.timestep(schedule.sigma(t)), torch.tensor([0.0, 10.0, 500.0, 999.0]))


def test_denoise_keeps_the_tail_of_a_longer_schedule(schedule):
    short = sampling_sigmas(schedule, "karras", 4, denoise=0.5)
    full = compute_sigmas("karras", schedule, 8)
    assert torch.equal(short, full[-5:])


def test_unknown_scheduler_and_sampler_name_the_supported_ones(model, conds):
    with pytest.raises(ValueError, match="supported are: .*karras"):
        _run(model, conds, scheduler="bong_tangent")
    with pytest.raises(ValueError, match="supported are: euler, euler_cfg_pp, euler_ancestral"):
        _run(model, conds, sampler_name="dpm_adaptive")


# --- samplers -----------------------------------------------------------------------------------

STOCHASTIC = {"euler_ancestral", "euler_ancestral_cfg_pp", "dpm_2_ancestral", "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_sde_gpu",
              "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm"}


@pytest.mark.parametrize("sampler_name", names.SAMPLER_NAMES)
def test_every_sampler_runs_and_repeats_for_a_seed(model, conds, sampler_name):
    for scheduler in ("karras", "simple"):
        first = _run(model, conds, sampler_name, scheduler, steps=3, seed=9)
        again = _run(model, conds, sampler_name, scheduler, steps=3, seed=9)
        assert torch.isfinite(first).all()
        assert torch.equal(first, again)
    other_seed = _run(model, conds, sampler_name, "simple", steps=3, seed=10)
    assert not torch.allclose(first, other_seed)


@pytest.mark.parametrize("sampler_name", sorted(STOCHASTIC & set(names.SAMPLER_NAMES)))
def test_stochastic_samplers_draw_seeded_noise_each_step(model, conds, sampler_name):
    """Same initial latent, different step noise: the seed reaches the per-step noise too."""
    start = {"samples": torch.randn(LATENT, generator=torch.Generator().manual_seed(1))}
    a = _run(model, conds, sampler_name, "normal", steps=4, seed=1, latent=start, add_noise=False, denoise=0.6)
    b = _run(model, conds, sampler_name, "normal", steps=4, seed=2, latent=start, add_noise=False, denoise=0.6)
    assert not torch.allclose(a, b)


def test_converged_samplers_agree_on_a_smooth_problem():
    """On an analytic denoiser (Gaussian data) all ODE samplers approach the exact answer."""
    from engine.sampling.samplers import get_sampler

    data_std = 0.5

    def denoiser(x, sigma):  # exact x0 estimate for data ~ N(0, data_std^2)
        return x * data_std ** 2 / (data_std ** 2 + sigma ** 2)

    sigmas = torch.cat([torch.exp(torch.linspace(math.log(14.6), math.log(0.03), 40)), torch.zeros(1)])
    x = torch.randn(1, 4, 4, 4, generator=torch.Generator().manual_seed(0)) * math.sqrt(14.6 ** 2 + data_std ** 2)
    # the exact ODE solution scales x by data_std / sqrt(data_std^2 + sigma_max^2) ... then to sigma 0
    exact = x * data_std / math.sqrt(data_std ** 2 + 14.6 ** 2)
    for name in ("euler", "heun", "dpm_2", "lms", "dpmpp_2m", "uni_pc", "uni_pc_bh2", "deis", "ipndm"):
        result = get_sampler(name)(denoiser, x, sigmas)
        assert torch.allclose(result, exact, rtol=0.05, atol=0.02), name
    from engine.sampling.samplers import dpmpp_2m_sde, dpmpp_3m_sde

    for sde_sampler in (dpmpp_2m_sde, dpmpp_3m_sde):  # with eta = 0 they are ODE solvers
        assert torch.allclose(sde_sampler(denoiser, x, sigmas, eta=0.0), exact, rtol=0.05, atol=0.02)


# --- noise ----------------------------------------------------------------------------------------

def test_initial_noise_is_torch_randn_of_the_seed():
    latent = torch.zeros(2, 4, 8, 8)
    expected = torch.randn(latent.shape, generator=torch.Generator("cpu").manual_seed(123))
    assert torch.equal(initial_noise(latent, 123), expected)


def test_batch_index_gives_each_image_its_own_noise():
    generator = torch.Generator("cpu").manual_seed(7)
    draws = [torch.randn(1, 4, 8, 8, generator=generator) for _ in range(4)]
    picked = initial_noise(torch.zeros(2, 4, 8, 8), 7, batch_index=[3, 1])
    assert torch.equal(picked, torch.cat([draws[3], draws[1]]))


# --- ksampler options -----------------------------------------------------------------------------

def test_two_stage_advanced_split_equals_one_run(model, conds):
    full = _run(model, conds, "euler", "karras", steps=6)
    first = sample(model, 5, 6, 5.0, "euler", "karras", [[conds[0], {}]], [[conds[1], {}]],
                   {"samples": torch.zeros(LATENT)}, start_step=0, last_step=3, return_with_leftover_noise=True)
    assert first["samples"].abs().max() > 2  # still noisy
    second = sample(model, 5, 6, 5.0, "euler", "karras", [[conds[0], {}]], [[conds[1], {}]],
                    first, start_step=3, last_step=10000, add_noise=False)
    assert torch.allclose(second["samples"], full, atol=1e-4)


def test_last_step_without_leftover_noise_ends_clean(model, conds, schedule):
    full = compute_sigmas("karras", schedule, 6)
    clean = sampling_sigmas(schedule, "karras", 6, last_step=3, force_full_denoise=True)
    noisy = sampling_sigmas(schedule, "karras", 6, last_step=3, force_full_denoise=False)
    assert torch.equal(noisy, full[:4])
    assert torch.equal(clean[:3], full[:3]) and clean[3] == 0
    cut = sample(model, 5, 6, 5.0, "euler", "karras", [[conds[0], {}]], [[conds[1], {}]],
                 {"samples": torch.zeros(LATENT)}, last_step=3)
    leftover = sample(model, 5, 6, 5.0, "euler", "karras", [[conds[0], {}]], [[conds[1], {}]],
                      {"samples": torch.zeros(LATENT)}, last_step=3, return_with_leftover_noise=True)
    assert not torch.allclose(cut["samples"], leftover["samples"])


def test_start_step_past_the_end_returns_the_input(model, conds):
    start = torch.randn(LATENT)
    out = _run(model, conds, latent={"samples": start}, start_step=50)
    assert torch.equal(out, start)


def test_add_noise_false_starts_from_the_latent(model, conds):
    start = {"samples": torch.randn(LATENT, generator=torch.Generator().manual_seed(3))}
    a = _run(model, conds, latent=start, add_noise=False, denoise=0.5, seed=1)
    b = _run(model, conds, latent=start, add_noise=False, denoise=0.5, seed=2)
    assert torch.equal(a, b)  # no seed-dependent noise with a deterministic sampler


def test_noise_mask_keeps_the_unmasked_area(model, conds):
    original = torch.randn(LATENT, generator=torch.Generator().manual_seed(4))
    mask = torch.zeros(1, 64, 64)
    mask[:, :, 32:] = 1.0  # repaint the right half (pixel mask)
    out = _run(model, conds, latent={"samples": original, "noise_mask": mask}, denoise=0.8)
    assert torch.equal(out[..., :4], original[..., :4])
    assert not torch.allclose(out[..., 4:], original[..., 4:])


def test_callback_sees_every_step_and_can_interrupt(model, conds):
    seen = []

    def callback(step, total, x0):
        seen.append((step, total, tuple(x0.shape)))

    _run(model, conds, steps=5, callback=callback)
    assert seen == [(i, 5, LATENT) for i in range(1, 6)]

    class Stop(Exception):
        pass

    calls = []

    def stopper(step, total, x0):
        calls.append(step)
        if step == 2:
            raise Stop()

    with pytest.raises(Stop):
        _run(model, conds, steps=5, callback=stopper)
    assert calls == [1, 2]


def test_v_prediction_uses_the_v_formula(conds):
    """With v-prediction, x0 = x/(s^2+1) - v*s/sqrt(s^2+1): check against the UNet output."""
    unet = tiny_unet("sd2")
    model = DiffusionModel(unet, "sd2", prediction_type="v_prediction")
    schedule = DiscreteSchedule(model.sigmas)
    denoiser = Denoiser(model, unet, schedule, [[conds[0], {}]], [], 1.0, LATENT, "cpu", torch.float32)
    x = torch.randn(LATENT, generator=torch.Generator().manual_seed(2))
    sigma = 3.0
    with torch.no_grad():
        v = unet(x / math.sqrt(sigma ** 2 + 1), schedule.timestep(torch.tensor([sigma])),
                 encoder_hidden_states=conds[0]).sample
        x0 = denoiser(x, sigma)
    assert torch.allclose(x0, x / (sigma ** 2 + 1) - v * sigma / math.sqrt(sigma ** 2 + 1), atol=1e-5)
    eps_model = DiffusionModel(unet, "sd2")
    eps_x0 = Denoiser(eps_model, unet, schedule, [[conds[0], {}]], [], 1.0, LATENT, "cpu", torch.float32)
    with torch.no_grad():
        assert not torch.allclose(eps_x0(x, sigma), x0)


# --- conditioning extras ---------------------------------------------------------------------------

def _denoise_once(model, positive, sigma=2.0, cfg=1.0, latent=(1, 4, 16, 16)):
    schedule = DiscreteSchedule(model.sigmas)
    denoiser = Denoiser(model, model.unet, schedule, positive, [], cfg, latent, "cpu", torch.float32)
    x = torch.randn(latent, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        return denoiser(x, sigma)


def test_area_conditioning_changes_only_its_area(model, conds):
    base = [conds[0], {}]
    area_a = [conds[1], {"area": (8, 8, 0, 8), "strength": 1.0}]   # top-right quarter of 16x16
    area_b = [conds[2], {"area": (8, 8, 0, 8), "strength": 1.0}]
    with_a = _denoise_once(model, [base, area_a])
    with_b = _denoise_once(model, [base, area_b])
    changed = (with_a - with_b).abs().amax(dim=1)[0] > 1e-6
    assert changed[:8, 8:].any()
    assert not changed[8:, :].any() and not changed[:, :8].any()


def test_mask_conditioning_changes_only_under_the_mask(model, conds):
    mask = torch.zeros(1, 16, 16)
    mask[:, 4:8, 4:8] = 1.0
    base = [conds[0], {}]
    masked_a = [conds[1], {"mask": mask, "mask_strength": 1.0}]
    masked_b = [conds[2], {"mask": mask, "mask_strength": 1.0}]
    changed = (_denoise_once(model, [base, masked_a]) - _denoise_once(model, [base, masked_b])).abs().amax(dim=1)[0] > 1e-6
    assert changed[4:8, 4:8].all()
    outside = torch.ones(16, 16, dtype=torch.bool)
    outside[4:8, 4:8] = False
    assert not changed[outside].any()


def test_strength_weights_entries(model, conds):
    alone = _denoise_once(model, [[conds[0], {}]])
    other = _denoise_once(model, [[conds[1], {}]])
    mixed = _denoise_once(model, [[conds[0], {"strength": 3.0}], [conds[1], {"strength": 1.0}]])
    assert torch.allclose(mixed, 0.75 * alone + 0.25 * other, atol=1e-5)


def test_timestep_range_limits_when_an_entry_applies(model, conds):
    late_only = [conds[1], {"start_percent": 0.5, "end_percent": 1.0}]
    schedule = DiscreteSchedule(model.sigmas)
    early_sigma, late_sigma = schedule.sigma(900.0).item(), schedule.sigma(100.0).item()
    base_early = _denoise_once(model, [[conds[0], {}]], sigma=early_sigma)
    with_early = _denoise_once(model, [[conds[0], {}], late_only], sigma=early_sigma)
    base_late = _denoise_once(model, [[conds[0], {}]], sigma=late_sigma)
    with_late = _denoise_once(model, [[conds[0], {}], late_only], sigma=late_sigma)
    assert torch.equal(base_early, with_early)
    assert not torch.allclose(base_late, with_late)


def test_conditioning_of_the_wrong_width_is_a_clear_error(model):
    with pytest.raises(ValueError, match="positive: conditioning width 64"):
        _denoise_once(model, [[torch.zeros(1, 77, 64), {}]])


def test_inpainting_unet_gets_mask_and_image_channels(conds):
    unet = tiny_unet("sd1", in_channels=9)
    model = DiffusionModel(unet, "sd1")
    original = torch.randn(LATENT, generator=torch.Generator().manual_seed(4))
    mask = torch.zeros(1, 64, 64)
    mask[:, 16:48, 16:48] = 1.0
    with_mask = _run(model, conds, latent={"samples": original, "noise_mask": mask}, steps=3)
    without = _run(model, conds, latent={"samples": original}, steps=3)
    assert torch.isfinite(with_mask).all() and not torch.allclose(with_mask, without)
    explicit = sample(model, 5, 3, 5.0, "euler", "normal",
                      [[conds[0], {"concat_latent_image": original, "concat_mask": mask}]],
                      [[conds[1], {"concat_latent_image": original, "concat_mask": mask}]],
                      {"samples": original})["samples"]
    assert not torch.allclose(explicit, without)


def test_lora_patches_apply_during_sampling_only(conds):
    from engine.patching import LoraPatch

    unet = tiny_unet("sd1")
    base = DiffusionModel(unet, "sd1")
    name = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"
    weight = dict(unet.named_parameters())[name]
    before = weight.detach().clone()
    patched = base.clone()
    generator = torch.Generator().manual_seed(0)
    patched.add_patches({name: LoraPatch(up=torch.randn(weight.shape[0], 2, generator=generator),
                                         down=torch.randn(2, weight.shape[1], generator=generator))}, 1.0)
    assert base.patches == {} and name in patched.patches
    plain = _run(base, conds, steps=2)
    with_lora = _run(patched, conds, steps=2)
    assert not torch.allclose(plain, with_lora)
    assert torch.equal(weight.detach(), before)  # weights restored after sampling
    assert torch.equal(_run(base, conds, steps=2), plain)


def test_depth_unet_takes_its_extra_channel_from_the_conditioning(conds):
    model = DiffusionModel(tiny_unet("sd1", in_channels=5), "sd2")
    depth = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    positive = [[conds[0], {"concat_latent_image": depth}]]
    negative = [[conds[1], {"concat_latent_image": depth}]]
    out = sample(model, 1, 2, 5.0, "euler", "normal", positive, negative, {"samples": torch.zeros(LATENT)})
    assert torch.isfinite(out["samples"]).all()
    with pytest.raises(ValueError, match="positive: this model takes 1 extra input channel"):
        sample(model, 1, 2, 5.0, "euler", "normal", [[conds[0], {}]], negative, {"samples": torch.zeros(LATENT)})


def test_model_clone_shares_the_unet_and_copies_patches():
    unet = tiny_unet("sd1")
    model = DiffusionModel(unet, "sd1")
    other = model.clone()
    other.add_patches({"x": object()}, 0.5)
    assert other.unet is model.unet and model.patches == {} and other.patches["x"][0][0] == 0.5
    assert model.in_channels == 4 and model.sigmas.shape == (1000,)
    assert model.nbytes == sum(p.numel() * 4 for p in unet.parameters()) + sum(
        b.numel() * b.element_size() for b in unet.buffers())
    with pytest.raises(ValueError, match="prediction_type"):
        DiffusionModel(unet, "sd1", prediction_type="flow")


def test_percentage_area_and_mask_bounds_pick_the_same_region(model, conds):
    base = [conds[0], {}]
    by_percent = [conds[1], {"area": ("percentage", 0.5, 0.5, 0.0, 0.5)}]
    by_pixels = [conds[1], {"area": (8, 8, 0, 8)}]
    assert torch.equal(_denoise_once(model, [base, by_percent]), _denoise_once(model, [base, by_pixels]))
    mask = torch.zeros(1, 16, 16)
    mask[:, 2:6, 9:15] = 1.0
    bounded_a = [conds[1], {"mask": mask, "set_area_to_bounds": True}]
    bounded_b = [conds[2], {"mask": mask, "set_area_to_bounds": True}]
    changed = (_denoise_once(model, [base, bounded_a]) - _denoise_once(model, [base, bounded_b])).abs().amax(dim=1)[0] > 1e-6
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (2, 5, 9, 14)


def test_euler_cfg_pp_at_cfg_1_is_euler(model, conds):
    """With cfg 1 the guided and unguided directions differ only by the prompt; CFG++ with
    negative == positive must reduce to plain Euler."""
    same = [[conds[0], {}]]
    cfg_pp = sample(model, 3, 4, 1.0, "euler_cfg_pp", "karras", same, same, {"samples": torch.zeros(LATENT)})
    euler = sample(model, 3, 4, 1.0, "euler", "karras", same, same, {"samples": torch.zeros(LATENT)})
    assert torch.allclose(cfg_pp["samples"], euler["samples"], atol=1e-4)
    other = sample(model, 3, 4, 1.0, "euler_cfg_pp", "karras", same, [[conds[1], {}]],
                   {"samples": torch.zeros(LATENT)})
    assert not torch.allclose(other["samples"], euler["samples"])  # the negative does matter at cfg 1
