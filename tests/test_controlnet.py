"""ControlNet: loading the three file layouts, the apply nodes, and equivalence with diffusers.

The tiny ControlNets have random zero convolutions (tests/tiny_controlnets.py), so a
ControlNet that is not run, run on the wrong input or scaled wrongly changes the picture.
Sampling is compared with diffusers' ControlNet pipelines on the same weights, embeddings
and initial noise (latents=), Euler with Loom's sigmas (docs/SAMPLERS.md): max diff 2/255.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.errors import ModelError
from engine.model import DiffusionModel
from engine.sampling.discrete import DiscreteSchedule
from engine.sampling.ksampler import sample, sampling_sigmas
from engine.vae import VAE
from nodes.controlnet import ControlNetApply, ControlNetApplyAdvanced
from tests.tiny_controlnets import save_diffusers_file, save_folder, save_original_file, tiny_controlnet
from tests.tiny_models import save_single_file, tiny_sd_components

TOLERANCE = 2 / 255
SD_BETAS = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)

pytestmark = pytest.mark.usefixtures("cpu_fp32")


@pytest.fixture(scope="module")
def sd1():
    return tiny_sd_components("sd1")


@pytest.fixture(autouse=True)
def fresh_cache():
    from engine import model_cache

    model_cache.get().clear()
    yield
    model_cache.get().clear()


def _hint(seed=5, size=64):
    """A blocky 0..1 hint picture, [1, H, W, 3] (an IMAGE)."""
    generator = torch.Generator("cpu").manual_seed(seed)
    coarse = (torch.rand(1, 3, 4, 4, generator=generator) > 0.5).float()
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="nearest").permute(0, 2, 3, 1)


def _embeddings(seed, width=32):
    generator = torch.Generator("cpu").manual_seed(seed)
    return torch.randn(1, 77, width, generator=generator), torch.randn(1, 77, width, generator=generator)


def _noise(seed):
    return torch.randn((1, 4, 8, 8), generator=torch.Generator("cpu").manual_seed(seed))


def _sigmas(model, scheduler, steps):
    return sampling_sigmas(DiscreteSchedule(model.sigmas), scheduler, steps).tolist()


def _euler():
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(**SD_BETAS, timestep_spacing="leading")


def _wrap(controlnet_module, arch="sd1", name="tiny.safetensors"):
    from engine.controlnet import ControlNet

    return ControlNet(controlnet_module, arch, name)


def _apply(positive, negative, control_net, image, strength=1.0, start=0.0, end=1.0):
    return ControlNetApplyAdvanced().apply_controlnet(positive, negative, control_net, image, strength, start, end)


def _loom(components, model, positive, negative, seed, steps, cfg, scheduler="normal", arch="sd1"):
    latent = sample(model, seed, steps, cfg, "euler", scheduler, positive, negative,
                    {"samples": torch.zeros(1, 4, 8, 8)})
    return VAE(components["vae"], arch).decode(latent["samples"])


def _sd_controlnet_pipeline(components, controlnet):
    from diffusers import StableDiffusionControlNetPipeline

    pipe = StableDiffusionControlNetPipeline(
        vae=components["vae"], text_encoder=components["text_encoder"], tokenizer=components["tokenizer"],
        unet=components["unet"], controlnet=controlnet, scheduler=_euler(), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False).to("cpu")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _pipeline_images(pipe, **kwargs):
    with torch.no_grad():
        images = pipe(output_type="pt", height=64, width=64, **kwargs).images
    return images.permute(0, 2, 3, 1).float()


# ---------------------------------------------------------------- loading


@pytest.mark.parametrize("arch", ["sd1", "sd2", "sdxl"])
def test_three_layouts_load_identical_weights(tmp_path, arch):
    from engine.controlnet.load import load_controlnet

    controlnet = tiny_controlnet(arch)
    reference = controlnet.state_dict()
    loaded = [
        load_controlnet(save_folder(controlnet, tmp_path / "folder")),
        load_controlnet(save_diffusers_file(controlnet, tmp_path / "single" / "cn.safetensors")),
        load_controlnet(save_original_file(controlnet, tmp_path / "control_cn.safetensors")),
        load_controlnet(save_original_file(controlnet, tmp_path / "bare.safetensors", prefix="")),
    ]
    for control_net in loaded:
        assert control_net.arch == arch
        state = control_net.module.state_dict()
        assert set(state) == set(reference)
        for key, value in reference.items():
            assert torch.equal(state[key], value), key
    assert dict(loaded[2].config)["addition_embed_type"] == ("text_time" if arch == "sdxl" else None)


def test_loaded_controlnets_are_cached(tmp_path):
    from engine.controlnet.load import load_controlnet

    path = save_original_file(tiny_controlnet(), tmp_path / "cn.safetensors")
    assert load_controlnet(path) is load_controlnet(path)


def test_diff_controlnet_adds_the_model_weights(tmp_path, sd1):
    from safetensors.torch import save_file

    from engine.controlnet.load import load_controlnet
    from tests.tiny_controlnets import original_state_dict
    from tests.tiny_models import unet_to_ldm

    controlnet = tiny_controlnet(unet=sd1["unet"])
    full = original_state_dict(controlnet)
    base = unet_to_ldm(sd1["unet"].state_dict(), sd1["unet"].config)
    diff = {k: v - base[k] if k in base else v for k, v in full.items()}
    path = tmp_path / "diff.safetensors"
    save_file({"control_model." + k: v.contiguous() for k, v in diff.items()} | {"difference": torch.zeros(1)},
              str(path))
    with pytest.raises(ModelError, match="DiffControlNetLoader"):
        load_controlnet(path)
    loaded = load_controlnet(path, DiffusionModel(sd1["unet"], "sd1"))
    state = loaded.module.state_dict()
    for key, value in controlnet.state_dict().items():
        assert torch.allclose(state[key], value, atol=1e-6), key


def test_files_that_are_not_controlnets_are_refused_by_name(tmp_path):
    from safetensors.torch import save_file

    from engine.controlnet.load import load_controlnet

    save_single_file(tiny_sd_components("sd1"), tmp_path / "checkpoint.safetensors")
    with pytest.raises(ModelError, match="checkpoint.safetensors is not a ControlNet"):
        load_controlnet(tmp_path / "checkpoint.safetensors")
    save_file({"body.0.block1.weight": torch.zeros(1), "conv_in.weight": torch.zeros(1)},
              str(tmp_path / "t2i.safetensors"))
    with pytest.raises(ModelError, match="T2I-Adapter"):
        load_controlnet(tmp_path / "t2i.safetensors")
    save_file({"lora_controlnet": torch.zeros(1)}, str(tmp_path / "control-lora.safetensors"))
    with pytest.raises(ModelError, match="Control-LoRA without a hint encoder"):
        load_controlnet(tmp_path / "control-lora.safetensors")
    with pytest.raises(ModelError, match="not found"):
        load_controlnet(tmp_path / "missing.safetensors")


def test_pth_controlnet_loads_only_when_pickles_are_allowed(tmp_path):
    from engine.controlnet.load import load_controlnet
    from tests.tiny_controlnets import original_state_dict

    controlnet = tiny_controlnet()
    torch.save({"control_model." + k: v for k, v in original_state_dict(controlnet).items()}, tmp_path / "cn.pth")
    with pytest.raises(ModelError, match="pickle"):
        load_controlnet(tmp_path / "cn.pth", allow_pickle=False)
    loaded = load_controlnet(tmp_path / "cn.pth", allow_pickle=True).module.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in controlnet.state_dict().items())


def _control_lora_file(controlnet, path):
    """A Control-LoRA of `controlnet` (built from_unet on the model's UNet): two layers changed by a
    rank-2 up @ down, one norm stored in full, the ControlNet-only parts in full."""
    from safetensors.torch import save_file

    from tests.tiny_controlnets import original_state_dict

    generator = torch.Generator().manual_seed(3)
    state = controlnet.state_dict()
    lora = {"lora_controlnet": torch.zeros(1)}
    for diffusers_key, ldm_key in (("down_blocks.0.resnets.0.conv1.weight", "input_blocks.1.0.in_layers.2"),
                                   ("down_blocks.0.attentions.0.proj_in.weight", "input_blocks.1.1.proj_in")):
        weight = state[diffusers_key]
        up = torch.randn(weight.shape[0], 2, 1, 1, generator=generator) * 0.1
        down = torch.randn(2, *weight.shape[1:], generator=generator) * 0.1
        lora[f"{ldm_key}.up"], lora[f"{ldm_key}.down"] = up, down
        with torch.no_grad():
            weight += (up.flatten(1) @ down.flatten(1)).reshape(weight.shape)
    with torch.no_grad():
        state["down_blocks.0.resnets.0.norm1.weight"].mul_(1.5)
    lora["input_blocks.1.0.in_layers.0.weight"] = state["down_blocks.0.resnets.0.norm1.weight"].clone()
    for key, value in original_state_dict(controlnet).items():
        if key.startswith(("zero_convs.", "input_hint_block.", "middle_block_out.")):
            lora[key] = value
    save_file({k: v.contiguous() for k, v in lora.items()}, str(path))
    return path


def test_control_lora_is_built_on_the_sampling_model(tmp_path, sd1):
    from engine.controlnet.load import load_controlnet

    controlnet = tiny_controlnet(unet=sd1["unet"])
    control_lora = load_controlnet(_control_lora_file(controlnet, tmp_path / "control-lora-canny.safetensors"))
    assert control_lora.module is None and control_lora.conditioning_channels == 3
    model = DiffusionModel(sd1["unet"], "sd1")
    built = control_lora.bound(model).module.state_dict()
    for key, value in controlnet.state_dict().items():
        assert torch.allclose(built[key], value, atol=1e-6), key
    positive, negative = _embeddings(8)
    by_lora = _apply([[positive, {}]], [[negative, {}]], control_lora, _hint(14))
    by_full = _apply([[positive, {}]], [[negative, {}]], _wrap(controlnet), _hint(14))
    assert torch.allclose(_loom(sd1, model, *by_lora, 2, 3, 7.0), _loom(sd1, model, *by_full, 2, 3, 7.0), atol=1e-5)


# ---------------------------------------------------------------- equivalence with diffusers


def test_controlnet_equals_stable_diffusion_controlnet_pipeline(sd1, tmp_path):
    from engine.controlnet.load import load_controlnet

    controlnet = tiny_controlnet(unet=sd1["unet"])
    control_net = load_controlnet(save_original_file(controlnet, tmp_path / "cn.safetensors"))
    model = DiffusionModel(sd1["unet"], "sd1")
    positive, negative = _embeddings(3)
    image = _hint()
    seed, steps, cfg, strength = 11, 5, 7.0, 0.8
    pos, neg = _apply([[positive, {}]], [[negative, {}]], control_net, image, strength)
    ours = _loom(sd1, model, pos, neg, seed, steps, cfg)

    pipe = _sd_controlnet_pipeline(sd1, controlnet)
    theirs = _pipeline_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                              image=image.permute(0, 3, 1, 2), controlnet_conditioning_scale=strength,
                              latents=_noise(seed), sigmas=_sigmas(model, "normal", steps))
    assert ours.std() > 0.01
    assert (ours - theirs).abs().max() <= TOLERANCE
    plain = _loom(sd1, model, [[positive, {}]], [[negative, {}]], seed, steps, cfg)
    assert (ours - plain).abs().max() > 0.05  # the ControlNet did change the picture


def test_positive_and_negative_stay_in_one_batch_with_a_controlnet(sd1):
    controlnet = tiny_controlnet(unet=sd1["unet"])
    model = DiffusionModel(sd1["unet"], "sd1")
    positive, negative = _embeddings(9)
    batches = {"unet": [], "controlnet": []}
    hooks = [module.register_forward_pre_hook(lambda m, args, key=key: batches[key].append(args[0].shape[0]))
             for key, module in (("unet", sd1["unet"]), ("controlnet", controlnet))]
    try:
        _loom(sd1, model, *_apply([[positive, {}]], [[negative, {}]], _wrap(controlnet), _hint()), 1, 3, 7.0)
    finally:
        for hook in hooks:
            hook.remove()
    assert batches == {"unet": [2, 2, 2], "controlnet": [2, 2, 2]}


def test_controlnet_apply_old_node_also_controls_the_negative(sd1):
    controlnet = tiny_controlnet(unet=sd1["unet"])
    model = DiffusionModel(sd1["unet"], "sd1")
    positive, negative = _embeddings(4)
    image = _hint(6)
    seed, steps, cfg = 12, 4, 6.0
    (pos,) = ControlNetApply().apply_controlnet([[positive, {}]], _wrap(controlnet), image, 1.0)
    ours = _loom(sd1, model, pos, [[negative, {}]], seed, steps, cfg)
    pipe = _sd_controlnet_pipeline(sd1, controlnet)
    theirs = _pipeline_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                              image=image.permute(0, 3, 1, 2), latents=_noise(seed),
                              sigmas=_sigmas(model, "normal", steps))
    assert (ours - theirs).abs().max() <= TOLERANCE


def test_sdxl_controlnet_equals_sdxl_controlnet_pipeline(tmp_path):
    from diffusers import StableDiffusionXLControlNetPipeline

    from engine.controlnet.load import load_controlnet

    components = tiny_sd_components("sdxl")
    controlnet = tiny_controlnet(unet=components["unet"])
    control_net = load_controlnet(save_diffusers_file(controlnet, tmp_path / "xl" / "cn.safetensors"))
    assert control_net.arch == "sdxl"
    model = DiffusionModel(components["unet"], "sdxl")
    generator = torch.Generator("cpu").manual_seed(8)
    positive, negative = torch.randn(1, 77, 64, generator=generator), torch.randn(1, 77, 64, generator=generator)
    pooled, negative_pooled = torch.randn(1, 64, generator=generator), torch.randn(1, 64, generator=generator)
    image = _hint(7)
    seed, steps, cfg, strength = 31, 4, 5.0, 1.2
    pos, neg = _apply([[positive, {"pooled_output": pooled}]], [[negative, {"pooled_output": negative_pooled}]],
                      control_net, image, strength)
    ours = _loom(components, model, pos, neg, seed, steps, cfg, arch="sdxl")
    pipe = StableDiffusionXLControlNetPipeline(
        vae=components["vae"], text_encoder=components["text_encoder"], text_encoder_2=components["text_encoder_2"],
        tokenizer=components["tokenizer"], tokenizer_2=components["tokenizer_2"], unet=components["unet"],
        controlnet=controlnet, scheduler=_euler()).to("cpu")
    pipe.set_progress_bar_config(disable=True)
    theirs = _pipeline_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative,
                              pooled_prompt_embeds=pooled, negative_pooled_prompt_embeds=negative_pooled,
                              guidance_scale=cfg, image=image.permute(0, 3, 1, 2),
                              controlnet_conditioning_scale=strength, latents=_noise(seed),
                              sigmas=_sigmas(model, "normal", steps))
    assert ours.std() > 0.01
    assert (ours - theirs).abs().max() <= TOLERANCE
    plain = _loom(components, model, [[positive, {"pooled_output": pooled}]],
                  [[negative, {"pooled_output": negative_pooled}]], seed, steps, cfg, arch="sdxl")
    assert (ours - plain).abs().max() > 0.05


def test_two_chained_controlnets_equal_multicontrolnet(sd1):
    first, second = tiny_controlnet(unet=sd1["unet"], seed=20), tiny_controlnet(unet=sd1["unet"], seed=21)
    model = DiffusionModel(sd1["unet"], "sd1")
    positive, negative = _embeddings(5)
    images = [_hint(8), _hint(9)]
    seed, steps, cfg, strengths = 13, 4, 7.0, [0.7, 1.3]
    pos, neg = _apply([[positive, {}]], [[negative, {}]], _wrap(first), images[0], strengths[0])
    pos, neg = _apply(pos, neg, _wrap(second), images[1], strengths[1])
    assert pos[0][1]["control"].previous is not None and pos[0][1]["control"] is neg[0][1]["control"]
    ours = _loom(sd1, model, pos, neg, seed, steps, cfg)
    pipe = _sd_controlnet_pipeline(sd1, [first, second])
    theirs = _pipeline_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                              image=[i.permute(0, 3, 1, 2) for i in images], controlnet_conditioning_scale=strengths,
                              latents=_noise(seed), sigmas=_sigmas(model, "normal", steps))
    assert (ours - theirs).abs().max() <= TOLERANCE
    only_second = _apply([[positive, {}]], [[negative, {}]], _wrap(second), images[1], strengths[1])
    assert (ours - _loom(sd1, model, *only_second, seed, steps, cfg)).abs().max() > 0.05


def test_start_and_end_percent_equal_control_guidance_start_and_end(sd1):
    """diffusers keeps step i when start <= i/N and (i+1)/N <= end; ComfyUI (and Loom) keep a step
    when its sigma lies between the sigmas at start and end percent. On `normal` (linear timestep)
    schedules step i starts at (i/N) percent, so the same start matches and Loom's end_percent e
    matches diffusers' e + 1/N when e is not on a step boundary."""
    controlnet = tiny_controlnet(unet=sd1["unet"])
    model = DiffusionModel(sd1["unet"], "sd1")
    positive, negative = _embeddings(6)
    image = _hint(10)
    seed, steps, cfg = 14, 10, 7.0
    pos, neg = _apply([[positive, {}]], [[negative, {}]], _wrap(controlnet), image, 1.0, 0.25, 0.55)
    ours = _loom(sd1, model, pos, neg, seed, steps, cfg)
    pipe = _sd_controlnet_pipeline(sd1, controlnet)
    # steps 3, 4 and 5 on both sides
    theirs = _pipeline_images(pipe, prompt_embeds=positive, negative_prompt_embeds=negative, guidance_scale=cfg,
                              image=image.permute(0, 3, 1, 2), control_guidance_start=0.25,
                              control_guidance_end=0.65, latents=_noise(seed), sigmas=_sigmas(model, "normal", steps))
    assert (ours - theirs).abs().max() <= TOLERANCE
    full = _apply([[positive, {}]], [[negative, {}]], _wrap(controlnet), image, 1.0)
    assert (ours - _loom(sd1, model, *full, seed, steps, cfg)).abs().max() > 0.02


# ---------------------------------------------------------------- errors a person can cause


def test_sd1_controlnet_with_sdxl_model_fails_at_sampling_naming_the_problem():
    components = tiny_sd_components("sdxl")
    model = DiffusionModel(components["unet"], "sdxl")
    control_net = _wrap(tiny_controlnet("sd1"), "sd1", "control_sd15_canny.safetensors")
    cond = torch.zeros(1, 77, 64)
    pos, neg = _apply([[cond, {"pooled_output": torch.zeros(1, 64)}]], [[cond, {"pooled_output": torch.zeros(1, 64)}]],
                      control_net, _hint())
    with pytest.raises(ValueError) as error:
        sample(model, 1, 2, 5.0, "euler", "normal", pos, neg, {"samples": torch.zeros(1, 4, 8, 8)})
    message = str(error.value)
    assert message.startswith("positive: the SD1.x ControlNet 'control_sd15_canny.safetensors' does not fit this SDXL")
    assert "text width 32" in message and "SDXL size/pooled conditioning" in message


def test_hint_images_that_cannot_be_used_are_refused():
    control_net = _wrap(tiny_controlnet())
    cond = [[torch.zeros(1, 77, 32), {}]]
    with pytest.raises(ValueError, match="image: the hint image is 4x4"):
        _apply(cond, cond, control_net, torch.zeros(1, 4, 4, 3))
    with pytest.raises(ValueError, match="image: expected an IMAGE"):
        _apply(cond, cond, control_net, torch.zeros(64, 64, 3))
    with pytest.raises(ValueError, match="image: the hint has 2 channels"):
        _apply(cond, cond, control_net, torch.zeros(1, 64, 64, 2))
    assert _apply(cond, cond, control_net, _hint(), strength=0.0) == (cond, cond)  # strength 0: unchanged


def test_hint_of_another_size_is_resized_to_the_latent(sd1):
    """ComfyUI scales the hint to the latent size * 8 (nearest-exact, centre crop)."""
    controlnet = tiny_controlnet(unet=sd1["unet"])
    model = DiffusionModel(sd1["unet"], "sd1")
    positive, negative = _embeddings(7)
    small = _apply([[positive, {}]], [[negative, {}]], _wrap(controlnet), _hint(11, 32))
    large = _apply([[positive, {}]], [[negative, {}]], _wrap(controlnet), _hint(11, 64))
    assert torch.allclose(_loom(sd1, model, *small, 3, 3, 7.0), _loom(sd1, model, *large, 3, 3, 7.0), atol=1e-5)


# ---------------------------------------------------------------- nodes and graph


@pytest.fixture
def base(tmp_folders, tmp_path):
    (tmp_path / "models" / "checkpoints").mkdir(parents=True)
    (tmp_path / "models" / "controlnet").mkdir(parents=True)
    (tmp_path / "input").mkdir()
    return tmp_path


@pytest.fixture(scope="module")
def registry():
    from nodes.registry import NodeRegistry

    return NodeRegistry(load_custom_nodes=False).load()


def test_object_info_lists_the_controlnet_nodes(base, registry):
    save_original_file(tiny_controlnet(), base / "models" / "controlnet" / "cn.safetensors")
    info = json.loads(json.dumps(registry.object_info()))  # as /object_info sends it
    assert info["ControlNetLoader"]["input"]["required"]["control_net_name"][0] == ["cn.safetensors"]
    assert info["ControlNetLoader"]["output"] == ["CONTROL_NET"]
    assert info["ControlNetLoader"]["category"] == "loaders"
    assert info["DiffControlNetLoader"]["input"]["required"]["model"][0] == "MODEL"
    advanced = info["ControlNetApplyAdvanced"]
    assert list(advanced["input"]["required"]) == ["positive", "negative", "control_net", "image", "strength",
                                                   "start_percent", "end_percent"]
    assert list(advanced["input"]["optional"]) == ["vae"] and advanced["input"]["optional"]["vae"][0] == "VAE"
    assert advanced["output"] == ["CONDITIONING", "CONDITIONING"]
    assert advanced["output_name"] == ["positive", "negative"]
    assert advanced["category"] == "conditioning/controlnet"
    assert advanced["display_name"] == "Apply ControlNet"
    old = info["ControlNetApply"]
    assert list(old["input"]["required"]) == ["conditioning", "control_net", "image", "strength"]
    assert old["deprecated"] is True and old["category"] == "conditioning/controlnet"


def test_controlnet_loader_names_a_missing_file(base):
    from nodes.controlnet import ControlNetLoader

    with pytest.raises(ValueError, match="control_net_name: file 'nope.safetensors' not found in models/controlnet"):
        ControlNetLoader().load_controlnet("nope.safetensors")


def _controlnet_prompt(seed, steps, cfg):
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny_sd1.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a house", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "10": {"class_type": "LoadImage", "inputs": {"image": "hint.png"}},
        "11": {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "cn.safetensors"}},
        "12": {"class_type": "ControlNetApplyAdvanced", "inputs": {
            "positive": ["6", 0], "negative": ["7", 0], "control_net": ["11", 0], "image": ["10", 0],
            "strength": 0.9, "start_percent": 0.0, "end_percent": 1.0}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": steps, "cfg": cfg, "sampler_name": "euler", "scheduler": "karras",
            "denoise": 1.0, "model": ["4", 0], "positive": ["12", 0], "negative": ["12", 1],
            "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "cn", "images": ["8", 0]}},
    }


def test_controlnet_graph_equals_pipeline(base, registry, sd1):
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt

    save_single_file(sd1, base / "models" / "checkpoints" / "tiny_sd1.safetensors")
    controlnet = tiny_controlnet(unet=sd1["unet"])
    save_original_file(controlnet, base / "models" / "controlnet" / "cn.safetensors")
    hint = (_hint(12)[0].numpy() * 255).astype(np.uint8)
    Image.fromarray(hint).save(base / "input" / "hint.png")
    seed, steps, cfg = 5, 4, 7.0
    checked = validate_prompt(_controlnet_prompt(seed, steps, cfg), registry.classes)
    assert checked.ok, checked.node_errors or checked.error
    result = PromptExecutor(registry.classes, cache=CacheConfig(policy="none")).execute(
        checked.prompt, "cn", {}, checked.outputs)
    assert result.status_str == "success", result.error
    entry = result.outputs["9"]["images"][0]
    ours = np.asarray(Image.open(base / entry["type"] / entry["subfolder"] / entry["filename"]).convert("RGB"))

    pipe = _sd_controlnet_pipeline(sd1, controlnet)
    model = DiffusionModel(sd1["unet"], "sd1")
    with torch.no_grad():
        images = pipe("a house", negative_prompt="blurry", guidance_scale=cfg, latents=_noise(seed), height=64,
                      width=64, image=torch.from_numpy(hint).permute(2, 0, 1)[None].float() / 255,
                      controlnet_conditioning_scale=0.9, sigmas=_sigmas(model, "karras", steps),
                      output_type="pt").images
    theirs = (images[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round()
    assert np.abs(ours.astype(np.int16) - theirs.astype(np.int16)).max() <= 2


def test_wrong_base_controlnet_error_names_the_sampler_node(base, registry):
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt

    save_single_file(tiny_sd_components("sd1"), base / "models" / "checkpoints" / "tiny_sd1.safetensors")
    save_diffusers_file(tiny_controlnet("sdxl"), base / "models" / "controlnet" / "cn.safetensors")
    Image.fromarray((_hint(12)[0].numpy() * 255).astype(np.uint8)).save(base / "input" / "hint.png")
    checked = validate_prompt(_controlnet_prompt(1, 2, 7.0), registry.classes)
    result = PromptExecutor(registry.classes, cache=CacheConfig(policy="none")).execute(
        checked.prompt, "cn", {}, checked.outputs)
    assert result.status_str == "error"
    assert result.error["node_id"] == "3"
    assert "SDXL ControlNet 'cn.safetensors' does not fit this SD1.x model" in result.error["exception_message"]


def test_shipped_canny_workflow_runs_on_tiny_models(base, registry, sd1):
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt

    prompt = json.loads((Path(__file__).resolve().parent.parent / "workflows" / "controlnet_canny.json").read_text())
    save_single_file(sd1, base / "models" / "checkpoints" / prompt["4"]["inputs"]["ckpt_name"])
    save_original_file(tiny_controlnet(unet=sd1["unet"]),
                       base / "models" / "controlnet" / prompt["13"]["inputs"]["control_net_name"])
    hint = Image.fromarray((_hint(13)[0].numpy() * 255).astype(np.uint8))
    hint.save(base / "input" / prompt["10"]["inputs"]["image"])
    prompt["5"]["inputs"].update(width=64, height=64)
    prompt["3"]["inputs"]["steps"] = 2
    checked = validate_prompt(prompt, registry.classes)
    assert checked.ok, checked.node_errors or checked.error
    result = PromptExecutor(registry.classes, cache=CacheConfig(policy="none")).execute(
        checked.prompt, "canny", {}, checked.outputs)
    assert result.status_str == "success", result.error
    assert {"11", "12", "13"} <= set(result.executed)
