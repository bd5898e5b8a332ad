"""Custom sampling nodes: ComfyUI's schemas, the same results as KSampler, sigma helpers, guiders."""
import pytest
import torch

from engine.model import DiffusionModel
from engine.sampling.discrete import DiscreteSchedule
from nodes import custom_sampling as cs
from nodes.sampling import KSampler, KSamplerAdvanced
from tests.tiny_models import tiny_unet

pytestmark = pytest.mark.usefixtures("cpu_fp32")


@pytest.fixture(scope="module")
def model():
    return DiffusionModel(tiny_unet("sd1"), "sd1")


@pytest.fixture(scope="module")
def conds():
    generator = torch.Generator().manual_seed(5)
    return [[[torch.randn(1, 77, 32, generator=generator), {}]] for _ in range(3)]


def _latent(seed=None):
    if seed is None:
        return {"samples": torch.zeros(1, 4, 8, 8)}
    return {"samples": torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(seed))}


def _required(cls):
    return cls.INPUT_TYPES()["required"]


def _plain(spec):
    return {k: v for k, v in spec[1].items() if k != "tooltip"}


def test_schemas_match_comfyui():
    assert list(_required(cs.SamplerCustom)) == ["model", "add_noise", "noise_seed", "cfg", "positive", "negative",
                                                 "sampler", "sigmas", "latent_image"]
    assert _plain(_required(cs.SamplerCustom)["add_noise"]) == {"default": True}
    assert cs.SamplerCustom.RETURN_TYPES == cs.SamplerCustomAdvanced.RETURN_TYPES == ("LATENT", "LATENT")
    assert cs.SamplerCustom.RETURN_NAMES == ("output", "denoised_output")
    assert list(_required(cs.SamplerCustomAdvanced)) == ["noise", "guider", "sampler", "sigmas", "latent_image"]
    assert [spec[0] for spec in _required(cs.SamplerCustomAdvanced).values()] == [
        "NOISE", "GUIDER", "SAMPLER", "SIGMAS", "LATENT"]
    assert list(_required(cs.BasicScheduler)) == ["model", "scheduler", "steps", "denoise"]
    assert _plain(_required(cs.SDTurboScheduler)["steps"]) == {"default": 1, "min": 1, "max": 10}
    karras = _required(cs.KarrasScheduler)
    assert list(karras) == ["steps", "sigma_max", "sigma_min", "rho"]
    assert (karras["sigma_max"][1]["default"], karras["sigma_min"][1]["default"]) == (14.614642, 0.0291675)
    assert list(_required(cs.ExponentialScheduler)) == ["steps", "sigma_max", "sigma_min"]
    assert cs.SplitSigmas.RETURN_NAMES == ("high_sigmas", "low_sigmas")
    assert list(_required(cs.DualCFGGuider)) == ["model", "cond1", "cond2", "negative", "cfg_conds",
                                                 "cfg_cond2_negative", "style"]
    assert _required(cs.DualCFGGuider)["style"][0] == ["regular", "nested"]
    assert cs.DisableNoise.INPUT_TYPES() == {"required": {}}
    for name in ("CFGGuider", "BasicGuider", "DualCFGGuider"):
        assert cs.NODE_CLASS_MAPPINGS[name].RETURN_TYPES == ("GUIDER",)
    assert cs.KSamplerSelect.RETURN_TYPES == ("SAMPLER",) and cs.RandomNoise.RETURN_TYPES == ("NOISE",)


def test_ksampler_equals_sampler_custom_and_advanced(model, conds):
    positive, negative, _ = conds
    start = _latent(7)
    for sampler_name, scheduler, steps, denoise in [("euler_ancestral", "karras", 3, 0.7)]:
        (expected,) = KSampler().sample(model, 11, steps, 6.0, sampler_name, scheduler, positive, negative,
                                        start, denoise)
        (sigmas,) = cs.BasicScheduler().get_sigmas(model, scheduler, steps, denoise)
        (sampler,) = cs.KSamplerSelect().get_sampler(sampler_name)
        out, _ = cs.SamplerCustom().sample(model, True, 11, 6.0, positive, negative, sampler, sigmas, start)
        assert torch.equal(out["samples"], expected["samples"])
        (noise,) = cs.RandomNoise().get_noise(11)
        (guider,) = cs.CFGGuider().get_guider(model, positive, negative, 6.0)
        advanced, _ = cs.SamplerCustomAdvanced().sample(noise, guider, sampler, sigmas, start)
        assert torch.equal(advanced["samples"], expected["samples"])
    assert not torch.equal(advanced["samples"], start["samples"])


def test_split_and_flip_sigmas():
    sigmas = torch.tensor([14.6, 7.0, 3.0, 1.0, 0.0])
    high, low = cs.SplitSigmas().get_sigmas(sigmas, 2)
    assert high.tolist() == pytest.approx([14.6, 7.0, 3.0]) and low.tolist() == pytest.approx([3.0, 1.0, 0.0])
    high, low = cs.SplitSigmas().get_sigmas(sigmas, 0)
    assert high.tolist() == pytest.approx([14.6]) and low.tolist() == pytest.approx(sigmas.tolist())
    (flipped,) = cs.FlipSigmas().get_sigmas(sigmas)
    assert flipped.tolist() == pytest.approx([0.0001, 1.0, 3.0, 7.0, 14.6])
    assert sigmas[-1] == 0.0  # the input is not changed
    (empty,) = cs.FlipSigmas().get_sigmas(torch.zeros(0))
    assert len(empty) == 0


def test_split_sampling_in_two_stages_equals_one_run(model, conds):
    """high_sigmas with noise and leftover noise, then low_sigmas with DisableNoise: as KSamplerAdvanced."""
    positive, negative, _ = conds
    (sigmas,) = cs.BasicScheduler().get_sigmas(model, "karras", 4, 1.0)
    high, low = cs.SplitSigmas().get_sigmas(sigmas, 2)
    (sampler,) = cs.KSamplerSelect().get_sampler("euler")
    first, first_denoised = cs.SamplerCustom().sample(model, True, 3, 5.0, positive, negative, sampler, high, _latent())
    second, _ = cs.SamplerCustom().sample(model, False, 3, 5.0, positive, negative, sampler, low, first)
    (whole,) = KSampler().sample(model, 3, 4, 5.0, "euler", "karras", positive, negative, _latent())
    assert torch.allclose(second["samples"], whole["samples"], atol=1e-4)
    (half,) = KSamplerAdvanced().sample(model, "enable", 3, 4, 5.0, "euler", "karras", positive, negative,
                                        _latent(), 0, 2, "enable")
    assert torch.allclose(first["samples"], half["samples"], atol=1e-5)
    # denoised_output is the model's x0 guess at the last step: not the output with leftover noise,
    # but the output itself when euler's last step goes to 0 (x_next = x0)
    assert not torch.allclose(first_denoised["samples"], first["samples"], atol=1e-2)
    _, last_denoised = cs.SamplerCustom().sample(model, False, 3, 5.0, positive, negative, sampler, low, first)
    assert torch.allclose(last_denoised["samples"], second["samples"], atol=1e-5)


def test_disable_noise_starts_from_the_latent(model, conds):
    positive, negative, _ = conds
    (noise,) = cs.DisableNoise().get_noise()
    assert torch.equal(noise.generate(_latent(2)), torch.zeros(1, 4, 8, 8))
    (sigmas,) = cs.BasicScheduler().get_sigmas(model, "normal", 3, 0.5)
    (sampler,) = cs.KSamplerSelect().get_sampler("euler")
    (guider,) = cs.CFGGuider().get_guider(model, positive, negative, 4.0)
    out, _ = cs.SamplerCustomAdvanced().sample(noise, guider, sampler, sigmas, _latent(2))
    (expected,) = KSamplerAdvanced().sample(model, "disable", 99, 3, 4.0, "euler", "normal", positive, negative,
                                            _latent(2), 0, 10000, "disable", denoise=0.5)
    assert torch.equal(out["samples"], expected["samples"])
    (seeded,) = cs.RandomNoise().get_noise(99)
    noisy, _ = cs.SamplerCustomAdvanced().sample(seeded, guider, sampler, sigmas, _latent(2))
    assert not torch.allclose(noisy["samples"], out["samples"])


def test_dual_cfg_guider_math():
    from engine.sampling.guiders import DualCFGGuider

    negative, middle, positive = torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([5.0])
    predictions = {"negative": negative, "middle": middle, "positive": positive}
    regular = DualCFGGuider(None, [], [], [], cfg_conds=3.0, cfg_cond2_negative=2.0)
    assert float(regular.combine(predictions)) == 1 + 2 * (2 - 1) + 3 * (5 - 2)
    nested = DualCFGGuider(None, [], [], [], cfg_conds=3.0, cfg_cond2_negative=2.0, nested=True)
    assert float(nested.combine(predictions)) == 1 + 2 * ((2 + 3 * (5 - 2)) - 1)
    assert regular.needs() == ["negative", "middle", "positive"]
    assert DualCFGGuider(None, [], [], [], 3.0, 1.0).needs() == ["middle", "positive"]
    assert DualCFGGuider(None, [], [], [], 1.0, 1.0).needs() == ["positive"]


def test_dual_cfg_with_equal_prompts_is_plain_cfg(model, conds):
    """cond1 == cond2 leaves only the cond2-negative guidance: CFGGuider at cfg_cond2_negative."""
    positive, negative, other = conds
    (sigmas,) = cs.BasicScheduler().get_sigmas(model, "normal", 2, 1.0)
    (sampler,) = cs.KSamplerSelect().get_sampler("euler")
    (noise,) = cs.RandomNoise().get_noise(4)
    (dual,) = cs.DualCFGGuider().get_guider(model, positive, positive, negative, 9.0, 3.0, "regular")
    (cfg,) = cs.CFGGuider().get_guider(model, positive, negative, 3.0)
    ours, _ = cs.SamplerCustomAdvanced().sample(noise, dual, sampler, sigmas, _latent())
    plain, _ = cs.SamplerCustomAdvanced().sample(noise, cfg, sampler, sigmas, _latent())
    assert torch.allclose(ours["samples"], plain["samples"], atol=1e-4)
    (dual_other,) = cs.DualCFGGuider().get_guider(model, other, positive, negative, 9.0, 3.0, "regular")
    moved, _ = cs.SamplerCustomAdvanced().sample(noise, dual_other, sampler, sigmas, _latent())
    assert not torch.allclose(moved["samples"], plain["samples"], atol=1e-3)


def test_basic_guider_is_cfg_1(model, conds):
    positive, negative, _ = conds
    (sigmas,) = cs.SDTurboScheduler().get_sigmas(model, 2, 1.0)
    (sampler,) = cs.KSamplerSelect().get_sampler("euler_ancestral")
    (noise,) = cs.RandomNoise().get_noise(8)
    (basic,) = cs.BasicGuider().get_guider(model, positive)
    ours, _ = cs.SamplerCustomAdvanced().sample(noise, basic, sampler, sigmas, _latent())
    cfg_1, _ = cs.SamplerCustom().sample(model, True, 8, 1.0, positive, negative, sampler, sigmas, _latent())
    assert torch.equal(ours["samples"], cfg_1["samples"])


def test_schedulers(model):
    schedule = DiscreteSchedule(model.sigmas)
    (one,) = cs.SDTurboScheduler().get_sigmas(model, 1, 1.0)
    assert one.tolist() == pytest.approx([float(model.sigmas[999]), 0.0])
    (four,) = cs.SDTurboScheduler().get_sigmas(model, 4, 1.0)
    assert four[:-1].tolist() == pytest.approx([float(model.sigmas[t]) for t in (999, 899, 799, 699)])
    (half,) = cs.SDTurboScheduler().get_sigmas(model, 2, 0.5)
    assert half[:-1].tolist() == pytest.approx([float(model.sigmas[t]) for t in (499, 399)])
    (karras,) = cs.KarrasScheduler().get_sigmas(6, schedule.sigma_max, schedule.sigma_min, 7.0)
    (basic,) = cs.BasicScheduler().get_sigmas(model, "karras", 6, 1.0)
    assert torch.allclose(karras, basic)
    (exponential,) = cs.ExponentialScheduler().get_sigmas(5, 10.0, 0.1)
    assert exponential.tolist() == pytest.approx([10.0, 3.1623, 1.0, 0.31623, 0.1, 0.0], rel=1e-4)
    (none,) = cs.BasicScheduler().get_sigmas(model, "normal", 5, 0.0)
    assert len(none) == 0


def test_bad_inputs_name_the_input(model, conds):
    positive, negative, _ = conds
    (sampler,) = cs.KSamplerSelect().get_sampler("euler")
    (noise,) = cs.RandomNoise().get_noise(1)
    (guider,) = cs.CFGGuider().get_guider(model, positive, negative, 2.0)
    sigmas = torch.tensor([1.0, 0.0])
    cases = [
        (lambda: cs.SamplerCustomAdvanced().sample(noise, guider, sampler, [1.0, 0.0], _latent()), "sigmas:"),
        (lambda: cs.SamplerCustomAdvanced().sample(noise, guider, sampler, torch.ones(2, 2), _latent()), "sigmas:"),
        (lambda: cs.SamplerCustomAdvanced().sample(noise, "cfg", sampler, sigmas, _latent()), "guider:"),
        (lambda: cs.SamplerCustomAdvanced().sample(guider, guider, sampler, sigmas, _latent()), "noise:"),
        (lambda: cs.SamplerCustomAdvanced().sample(noise, guider, "euler", sigmas, _latent()), "sampler:"),
        (lambda: cs.SamplerCustomAdvanced().sample(noise, guider, sampler, sigmas, torch.zeros(1)), "latent_image:"),
        (lambda: cs.SamplerCustom().sample("x", True, 1, 1.0, positive, negative, sampler, sigmas, _latent()),
         "model:"),
        (lambda: cs.ExponentialScheduler().get_sigmas(4, 14.6, 0.0), "sigma_min:"),
        (lambda: cs.SplitSigmas().get_sigmas(torch.tensor([float("nan")]), 1), "sigmas:"),
    ]
    for call, expected in cases:
        with pytest.raises(ValueError, match=expected):
            call()
    message = cs.KSamplerSelect.VALIDATE_INPUTS(sampler_name="dpm_adaptive")
    assert "sampler_name: 'dpm_adaptive' is not supported" in message
    assert "scheduler: 'bong_tangent'" in cs.BasicScheduler.VALIDATE_INPUTS(scheduler="bong_tangent")
    with pytest.raises(ValueError, match="cond2: conditioning width"):
        (dual,) = cs.DualCFGGuider().get_guider(model, positive, [[torch.zeros(1, 77, 8), {}]], negative,
                                                 2.0, 2.0, "regular")
        cs.SamplerCustomAdvanced().sample(noise, dual, sampler, sigmas, _latent())
