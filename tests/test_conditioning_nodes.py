"""The conditioning nodes: results, ComfyUI-compatible schemas, and no mutation of inputs."""
import copy
import subprocess
import sys

import pytest
import torch

from engine.clip import CLIP
from nodes import conditioning as nodes
from tests.tiny_models import tiny_sd_components


@pytest.fixture(scope="module")
def sd1_clip():
    c = tiny_sd_components("sd1")
    return CLIP([c["text_encoder"]], [c["tokenizer"]], "sd1")


@pytest.fixture(scope="module")
def sdxl_clip():
    c = tiny_sd_components("sdxl")
    return CLIP([c["text_encoder"], c["text_encoder_2"]], [c["tokenizer"], c["tokenizer_2"]], "sdxl")


def cond(seed, tokens=77, width=8, pooled=True, **extras):
    generator = torch.Generator().manual_seed(seed)
    tensor = torch.randn(1, tokens, width, generator=generator)
    if pooled:
        extras["pooled_output"] = torch.randn(1, 4, generator=generator)
    return [[tensor, extras]]


def snapshot(conditioning):
    return [[c.clone(), {k: (v.clone() if torch.is_tensor(v) else copy.deepcopy(v)) for k, v in e.items()}]
            for c, e in conditioning]


def assert_same(conditioning, saved):
    assert len(conditioning) == len(saved)
    for (c, e), (c0, e0) in zip(conditioning, saved):
        assert torch.equal(c, c0)
        assert e.keys() == e0.keys()
        for key in e:
            if torch.is_tensor(e[key]):
                assert torch.equal(e[key], e0[key])
            else:
                assert e[key] == e0[key]


def test_module_imports_without_torch():
    code = "import sys, nodes.conditioning; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))


def test_schemas_follow_comfyui():
    required = nodes.CLIPTextEncode.INPUT_TYPES()["required"]
    assert list(required) == ["text", "clip"] and required["text"][0] == "STRING"
    options = dict(nodes.CLIPSetLastLayer.INPUT_TYPES()["required"]["stop_at_clip_layer"][1])
    assert options.pop("tooltip") and options == {"default": -1, "min": -24, "max": -1, "step": 1}
    assert list(nodes.CLIPTextEncodeSDXL.INPUT_TYPES()["required"]) == [
        "clip", "width", "height", "crop_w", "crop_h", "target_width", "target_height", "text_g", "text_l"]
    assert nodes.ConditioningSetMask.INPUT_TYPES()["required"]["set_cond_area"][0] == ["default", "mask bounds"]
    for name, cls in nodes.NODE_CLASS_MAPPINGS.items():
        assert cls.__name__ == name
        assert callable(getattr(cls, cls.FUNCTION))
        assert cls.RETURN_TYPES in (("CONDITIONING",), ("CLIP",))


def test_clip_text_encode_sd1(sd1_clip):
    (out,) = nodes.CLIPTextEncode().encode(sd1_clip, "a (red:1.2) cube")
    expected, pooled = sd1_clip.encode("a (red:1.2) cube")
    assert len(out) == 1
    assert torch.equal(out[0][0], expected)
    assert torch.equal(out[0][1]["pooled_output"], pooled)
    assert set(out[0][1]) == {"pooled_output"}


def test_clip_text_encode_sdxl_leaves_size_keys_out(sdxl_clip):
    (out,) = nodes.CLIPTextEncode().encode(sdxl_clip, "a cube")
    assert out[0][0].shape == (1, 77, 64)
    assert set(out[0][1]) == {"pooled_output"}


def test_clip_text_encode_sdxl_node_sets_sizes_and_separate_prompts(sdxl_clip):
    (out,) = nodes.CLIPTextEncodeSDXL().encode(sdxl_clip, 896, 1152, 8, 16, 1024, 1024,
                                               text_g="a blue sphere", text_l="a red cube")
    tensor, extras = out[0]
    assert {k: extras[k] for k in ("width", "height", "crop_w", "crop_h", "target_width", "target_height")} == {
        "width": 896, "height": 1152, "crop_w": 8, "crop_h": 16, "target_width": 1024, "target_height": 1024}
    expected, pooled = sdxl_clip.encode_each(["a red cube", "a blue sphere"])
    assert torch.equal(tensor, expected) and torch.equal(extras["pooled_output"], pooled)
    l_only, _ = sdxl_clip.encode_each(["a red cube", "a red cube"])
    assert torch.equal(tensor[..., :32], l_only[..., :32])
    assert not torch.equal(tensor[..., 32:], l_only[..., 32:])


def test_clip_text_encode_sdxl_pads_the_shorter_prompt_with_empty_chunks(sdxl_clip):
    long_l = " ".join(["cat"] * 100)
    (out,) = nodes.CLIPTextEncodeSDXL().encode(sdxl_clip, 1024, 1024, 0, 0, 1024, 1024, text_g="dog", text_l=long_l)
    tensor = out[0][0]
    assert tensor.shape == (1, 154, 64)
    empty_g = sdxl_clip.encode_each(["", ""])[0][..., 32:]
    assert torch.allclose(tensor[:, 77:, 32:], empty_g, atol=1e-6)


def test_sdxl_node_refuses_a_single_encoder_clip(sd1_clip):
    with pytest.raises(ValueError, match="clip"):
        nodes.CLIPTextEncodeSDXL().encode(sd1_clip, 1024, 1024, 0, 0, 1024, 1024, "a", "b")


def test_missing_clip_is_a_clear_error():
    with pytest.raises(ValueError, match="clip"):
        nodes.CLIPTextEncode().encode(None, "a cat")


def test_text_must_be_a_string(sd1_clip):
    with pytest.raises(ValueError, match="text"):
        nodes.CLIPTextEncode().encode(sd1_clip, 42)


def test_refiner_node_sets_aesthetic_score():
    c = tiny_sd_components("sdxl")
    refiner = CLIP([c["text_encoder_2"]], [c["tokenizer_2"]], "sdxl_refiner")
    (out,) = nodes.CLIPTextEncodeSDXLRefiner().encode(refiner, 2.5, 768, 512, "a cube")
    tensor, extras = out[0]
    assert tensor.shape == (1, 77, 32)
    assert (extras["aesthetic_score"], extras["width"], extras["height"]) == (2.5, 768, 512)
    with torch.no_grad():
        ids = c["tokenizer_2"]("a cube", padding="max_length", return_tensors="pt").input_ids
        expected = c["text_encoder_2"](ids, output_hidden_states=True)
    torch.testing.assert_close(tensor, expected.hidden_states[-2], atol=1e-5, rtol=0)
    torch.testing.assert_close(extras["pooled_output"], expected.text_embeds, atol=1e-5, rtol=0)


def test_set_last_layer_returns_a_changed_clone(sd1_clip):
    (clip,) = nodes.CLIPSetLastLayer().set_last_layer(sd1_clip, -2)
    assert clip is not sd1_clip and clip.layer_idx == -2 and sd1_clip.layer_idx is None
    skipped, _ = clip.encode("a cube")
    plain, _ = sd1_clip.encode("a cube")
    assert (skipped - plain).abs().max() > 1e-3


def test_combine_keeps_both_lists():
    a, b = cond(1), cond(2)
    (out,) = nodes.ConditioningCombine().combine(a, b)
    assert len(out) == 2 and out[0][0] is a[0][0] and out[1][0] is b[0][0]


def test_average_mixes_cond_and_pooled():
    to, frm = cond(1), cond(2)
    saved = snapshot(to), snapshot(frm)
    (out,) = nodes.ConditioningAverage().addWeighted(to, frm, 0.25)
    torch.testing.assert_close(out[0][0], to[0][0] * 0.25 + frm[0][0] * 0.75)
    torch.testing.assert_close(out[0][1]["pooled_output"],
                               to[0][1]["pooled_output"] * 0.25 + frm[0][1]["pooled_output"] * 0.75)
    assert_same(to, saved[0])
    assert_same(frm, saved[1])


def test_average_pads_a_shorter_from_with_zeros():
    to, frm = cond(1, tokens=154), cond(2, tokens=77)
    (out,) = nodes.ConditioningAverage().addWeighted(to, frm, 0.5)
    assert out[0][0].shape == (1, 154, 8)
    torch.testing.assert_close(out[0][0][:, 77:], to[0][0][:, 77:] * 0.5)
    torch.testing.assert_close(out[0][0][:, :77], (to[0][0][:, :77] + frm[0][0]) * 0.5)


def test_average_takes_pooled_from_when_to_has_none():
    to, frm = cond(1, pooled=False), cond(2)
    (out,) = nodes.ConditioningAverage().addWeighted(to, frm, 0.5)
    assert torch.equal(out[0][1]["pooled_output"], frm[0][1]["pooled_output"])


def test_concat_appends_tokens():
    to, frm = cond(1, area=(1, 2, 3, 4)), cond(2)
    (out,) = nodes.ConditioningConcat().concat(to, frm)
    assert out[0][0].shape == (1, 154, 8)
    assert torch.equal(out[0][0][:, :77], to[0][0]) and torch.equal(out[0][0][:, 77:], frm[0][0])
    assert out[0][1] == to[0][1] and out[0][1] is not to[0][1]


def test_concat_refuses_different_widths():
    with pytest.raises(ValueError, match="conditioning_from"):
        nodes.ConditioningConcat().concat(cond(1, width=8), cond(2, width=16))


def test_set_area_in_latent_units():
    (out,) = nodes.ConditioningSetArea().append(cond(1), width=256, height=128, x=64, y=32, strength=0.7)
    extras = out[0][1]
    assert extras["area"] == (16, 32, 4, 8)
    assert extras["strength"] == 0.7 and extras["set_area_to_bounds"] is False


def test_set_area_percentage():
    (out,) = nodes.ConditioningSetAreaPercentage().append(cond(1), width=0.5, height=0.25, x=0.1, y=0.2, strength=1.5)
    assert out[0][1]["area"] == ("percentage", 0.25, 0.5, 0.2, 0.1)
    assert out[0][1]["strength"] == 1.5


def test_set_mask_adds_batch_axis_and_bounds_flag():
    mask = torch.zeros(64, 64)
    mask[10:20, 30:40] = 1
    (out,) = nodes.ConditioningSetMask().append(cond(1), mask, "mask bounds", 0.8)
    extras = out[0][1]
    assert extras["mask"].shape == (1, 64, 64) and torch.equal(extras["mask"][0], mask)
    assert extras["set_area_to_bounds"] is True and extras["mask_strength"] == 0.8
    (out,) = nodes.ConditioningSetMask().append(cond(1), mask[None], "default", 1.0)
    assert out[0][1]["set_area_to_bounds"] is False


def test_set_mask_rejects_a_bad_mask():
    with pytest.raises(ValueError, match="mask"):
        nodes.ConditioningSetMask().append(cond(1), torch.zeros(1, 1, 8, 8), "default", 1.0)


def test_zero_out():
    source = cond(1, area=(1, 1, 0, 0))
    (out,) = nodes.ConditioningZeroOut().zero_out(source)
    assert torch.count_nonzero(out[0][0]) == 0 and out[0][0].shape == source[0][0].shape
    assert torch.count_nonzero(out[0][1]["pooled_output"]) == 0
    assert out[0][1]["area"] == (1, 1, 0, 0)
    assert torch.count_nonzero(source[0][0]) > 0


def test_timestep_range():
    (out,) = nodes.ConditioningSetTimestepRange().set_range(cond(1) + cond(2), 0.2, 0.6)
    assert [(e["start_percent"], e["end_percent"]) for _, e in out] == [(0.2, 0.6), (0.2, 0.6)]


@pytest.mark.parametrize("call", [
    lambda c, d: nodes.ConditioningCombine().combine(c, d),
    lambda c, d: nodes.ConditioningAverage().addWeighted(c, d, 0.3),
    lambda c, d: nodes.ConditioningConcat().concat(c, d),
    lambda c, d: nodes.ConditioningSetArea().append(c, 128, 128, 8, 8, 0.5),
    lambda c, d: nodes.ConditioningSetAreaPercentage().append(c, 0.5, 0.5, 0.0, 0.0, 0.5),
    lambda c, d: nodes.ConditioningSetMask().append(c, torch.ones(8, 8), "mask bounds", 0.5),
    lambda c, d: nodes.ConditioningZeroOut().zero_out(c),
    lambda c, d: nodes.ConditioningSetTimestepRange().set_range(c, 0.1, 0.9),
])
def test_nodes_never_mutate_their_inputs(call):
    first, second = cond(1, area=(2, 2, 0, 0), strength=1.0), cond(2)
    saved_first, saved_second = snapshot(first), snapshot(second)
    (out,) = call(first, second)
    assert out
    assert_same(first, saved_first)
    assert_same(second, saved_second)


def test_registry_loads_the_module():
    from nodes.registry import NodeRegistry

    registry = NodeRegistry()
    registry.load()
    for name in ("CLIPTextEncode", "CLIPSetLastLayer", "ConditioningSetTimestepRange", "CLIPTextEncodeSDXL"):
        assert registry.classes[name] is nodes.NODE_CLASS_MAPPINGS[name]
    assert registry.display_names["CLIPTextEncode"] == "CLIP Text Encode (Prompt)"
