"""Depth estimation equals transformers' depth-estimation pipeline; Depth2ImgConditioning on a
5-channel SD2-depth UNet equals diffusers' StableDiffusionDepth2ImgPipeline given the same depth map.
"""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from graph.context import ExecutionContext, activate, deactivate
from graph.errors import Interrupted
from nodes.depth import Depth2ImgConditioning, DepthEstimation
from tests.tiny_vision import picture, save_tiny_depth_anything, save_tiny_dpt

pytestmark = pytest.mark.usefixtures("cpu_fp32")


@pytest.fixture
def depth_dir(tmp_folders, tmp_path):
    from engine import model_cache

    model_cache.configure()  # a fresh cache per test
    directory = tmp_path / "models" / "depth"
    save_tiny_dpt(directory / "dpt-tiny")
    save_tiny_depth_anything(directory / "depth-anything-tiny")
    return directory


def _pipeline_depth(folder, image):
    """transformers' own pipeline on one IMAGE [H,W,3]: (predicted_depth scaled to 0..1, its 8-bit picture)."""
    from transformers import AutoImageProcessor, pipeline

    from engine.images import image_to_pil

    pipe = pipeline("depth-estimation", model=str(folder),
                    image_processor=AutoImageProcessor.from_pretrained(folder, backend="pil"))
    out = pipe(image_to_pil(image))
    depth = out["predicted_depth"]
    return (depth - depth.min()) / (depth.max() - depth.min()), np.asarray(out["depth"])


@pytest.mark.parametrize("model_name", ["dpt-tiny", "depth-anything-tiny"])
def test_depth_equals_transformers_pipeline(depth_dir, model_name):
    images = picture(batch=2, height=48, width=64)
    (depth,) = DepthEstimation().estimate(images, model_name)
    assert depth.shape == (2, 48, 64, 3) and depth.dtype == torch.float32
    assert depth.min() == 0.0 and depth.max() == 1.0
    for index in range(2):
        expected, expected_8bit = _pipeline_depth(depth_dir / model_name, images[index])
        assert expected.std() > 0.05  # a real map, not a constant
        assert (depth[index, ..., 0] - expected).abs().max() < 1e-5
        assert torch.equal(depth[index, ..., 0], depth[index, ..., 2])
        ours_8bit = (depth[index, ..., 0].numpy() * 255).astype(np.uint8)  # the pipeline truncates
        assert np.abs(ours_8bit.astype(int) - expected_8bit.astype(int)).max() <= 1
    assert not torch.equal(depth[0], depth[1])


def test_model_is_loaded_once_and_left_on_the_offload_device(depth_dir):
    from engine import model_cache
    from engine.depth import load_depth_model

    first = load_depth_model(depth_dir / "dpt-tiny")
    DepthEstimation().estimate(picture(batch=1), "dpt-tiny")
    assert load_depth_model(depth_dir / "dpt-tiny") is first
    assert len(model_cache.get()) == 1
    assert all(p.device.type == "cpu" for p in first.model.parameters())


def test_model_moves_to_the_compute_device_only_while_it_runs(depth_dir, monkeypatch):
    from engine import devices
    from engine.depth import load_depth_model

    model = load_depth_model(depth_dir / "dpt-tiny").model
    moves, original_to = [], model.to

    def recording_to(*args, **kwargs):
        moves.append(str(args[0]))
        return original_to(*args, **kwargs)

    monkeypatch.setattr(model, "to", recording_to, raising=False)
    monkeypatch.setattr(devices, "torch_device", lambda: torch.device("cpu", 0))
    DepthEstimation().estimate(picture(batch=2), "dpt-tiny")
    assert moves == ["cpu:0", "cpu"]  # to the compute device once, back to the offload device after


def test_progress_per_image_and_interrupt(depth_dir):
    import threading

    events = []
    stop = threading.Event()
    context = ExecutionContext("p", "5", emit=lambda event, data, client: events.append((event, data)),
                               interrupt_event=stop)
    token = activate(context)
    try:
        DepthEstimation().estimate(picture(batch=3), "dpt-tiny")
        assert [(d["value"], d["max"]) for e, d in events if e == "progress"] == [(1, 3), (2, 3), (3, 3)]
        stop.set()
        with pytest.raises(Interrupted):
            DepthEstimation().estimate(picture(batch=3), "dpt-tiny")
    finally:
        deactivate(token)


def test_missing_and_wrong_models_name_the_input(depth_dir):
    node = DepthEstimation()
    with pytest.raises(ValueError, match="model_name: model 'nope' not found in models/depth"):
        node.estimate(picture(batch=1), "nope")
    (depth_dir / "single.safetensors").write_bytes(b"x")
    with pytest.raises(ValueError, match="model_name: 'single.safetensors' is a single file"):
        node.estimate(picture(batch=1), "single.safetensors")
    wrong = depth_dir / "not-depth"
    wrong.mkdir()
    (wrong / "config.json").write_text(json.dumps({"model_type": "blip"}))
    with pytest.raises(ModelError, match="model_name: 'not-depth' is a blip model, not a depth"):
        node.estimate(picture(batch=1), "not-depth")
    metric = depth_dir / "metric"
    metric.mkdir()
    (metric / "config.json").write_text(json.dumps({"model_type": "depth_anything", "depth_estimation_type": "metric"}))
    with pytest.raises(ModelError, match="model_name: 'metric' predicts metric depth"):
        node.estimate(picture(batch=1), "metric")
    broken = depth_dir / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "dpt"}))
    with pytest.raises(ModelError, match="model_name: cannot load depth model 'broken'"):
        node.estimate(picture(batch=1), "broken")


@pytest.mark.parametrize("image", [torch.zeros(48, 64, 3), torch.zeros(1, 48, 64, 2), "image.png"])
def test_bad_image_names_the_input(depth_dir, image):
    with pytest.raises(ValueError, match="image: expected an IMAGE"):
        DepthEstimation().estimate(image, "dpt-tiny")


def test_depth2img_conditioning_bad_input():
    node = Depth2ImgConditioning()
    cond = [[torch.zeros(1, 77, 32), {}]]
    with pytest.raises(ValueError, match="depth_map: the image must be at least 8x8"):
        node.encode(cond, cond, torch.zeros(1, 4, 64, 3))
    with pytest.raises(ValueError, match="depth_map: expected an IMAGE"):
        node.encode(cond, cond, torch.zeros(64, 64))
    with pytest.raises(ValueError, match="negative: expected CONDITIONING"):
        node.encode(cond, "text", torch.zeros(1, 64, 64, 3))


def test_depth2img_conditioning_keeps_inputs_and_adds_the_channel():
    node = Depth2ImgConditioning()
    positive = [[torch.zeros(1, 77, 32), {"strength": 0.5}]]
    negative = [[torch.ones(1, 77, 32), {}]]
    depth = picture(batch=1, height=64, width=96)
    new_positive, new_negative = node.encode(positive, negative, depth)
    assert positive[0][1] == {"strength": 0.5} and negative[0][1] == {}  # inputs untouched
    concat = new_positive[0][1]["concat_latent_image"]
    assert concat.shape == (1, 1, 8, 12) and new_positive[0][1]["strength"] == 0.5
    assert concat.min() == -1.0 and concat.max() == 1.0
    assert new_negative[0][1]["concat_latent_image"] is concat


SD_BETAS = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


def test_depth2img_equals_diffusers_depth2img_pipeline():
    """Same tiny SD2-depth weights, init latent, depth map, seed and Euler schedule ("simple" = trailing)."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionDepth2ImgPipeline

    from engine.model import DiffusionModel
    from engine.sampling.discrete import DiscreteSchedule
    from engine.sampling.ksampler import sample, sampling_sigmas
    from engine.vae import VAE
    from tests.tiny_models import tiny_sd_components

    components = tiny_sd_components("sd2", in_channels=5)
    model = DiffusionModel(components["unet"], "sd2")
    assert model.in_channels == 5
    vae = VAE(components["vae"])
    image = picture(batch=1, height=64, width=64, seed=8)
    init_latent = vae.encode(image)
    # noisy, not smooth: bicubic and bilinear resizing agree on smooth (locally linear) maps
    depth = torch.rand(1, 64, 64, 1, generator=torch.Generator().manual_seed(9)).repeat(1, 1, 1, 3)
    generator = torch.Generator("cpu").manual_seed(10)
    positive, negative = torch.randn(1, 77, 32, generator=generator), torch.randn(1, 77, 32, generator=generator)
    steps, denoise, cfg, seed = 5, 0.5, 6.0, 42

    pos, neg = Depth2ImgConditioning().encode([[positive, {}]], [[negative, {}]], depth)
    ours = vae.decode(sample(model, seed, steps, cfg, "euler", "simple", pos, neg, {"samples": init_latent},
                             denoise=denoise)["samples"])

    scheduler = EulerDiscreteScheduler(**SD_BETAS, timestep_spacing="trailing")
    total = int(steps / denoise)
    scheduler.set_timesteps(total)
    loom_sigmas = sampling_sigmas(DiscreteSchedule(model.sigmas), "simple", total, 1.0)
    assert torch.allclose(scheduler.sigmas.float(), loom_sigmas.float(), rtol=1e-4)  # same schedule
    pipe = StableDiffusionDepth2ImgPipeline(vae=components["vae"], text_encoder=components["text_encoder"],
                                            tokenizer=components["tokenizer"], unet=components["unet"],
                                            scheduler=scheduler, depth_estimator=None, feature_extractor=None)
    pipe.set_progress_bar_config(disable=True)
    # the pipeline encodes `image` itself and samples the posterior with the generator; hand it the
    # same init latent instead (the pixels only give it the size for the depth map)
    pipe.vae.encode = lambda pixels: SimpleNamespace(latents=init_latent / vae.scaling_factor)
    with torch.no_grad():
        theirs = pipe(prompt_embeds=positive, negative_prompt_embeds=negative, image=image.permute(0, 3, 1, 2),
                      depth_map=depth[..., 0], strength=denoise, num_inference_steps=total, guidance_scale=cfg,
                      generator=torch.Generator("cpu").manual_seed(seed), output_type="pt").images
    theirs = theirs.permute(0, 2, 3, 1).float()
    del pipe.vae.encode
    assert ours.shape == theirs.shape == (1, 64, 64, 3)
    assert (ours - theirs).abs().max() <= 2 / 255

    flat = torch.full_like(depth, 0.5)
    flat[:, :32] = 0.0  # another depth map gives another picture
    pos2, neg2 = Depth2ImgConditioning().encode([[positive, {}]], [[negative, {}]], flat)
    other = vae.decode(sample(model, seed, steps, cfg, "euler", "simple", pos2, neg2, {"samples": init_latent},
                              denoise=denoise)["samples"])
    assert (other - ours).abs().max() > 0.01


def _workflow(name):
    from engine.folders import REPO_ROOT

    return json.loads((REPO_ROOT / "workflows" / name).read_text())


def test_depth_to_image_workflow_runs_on_tiny_models(depth_dir, tmp_path):
    """workflows/depth_to_image.json, models swapped for tiny ones: depth estimated, then SD2-depth img2img."""
    from PIL import Image

    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_models import save_single_file, tiny_sd_components

    save_single_file(tiny_sd_components("sd2", in_channels=5), tmp_path / "models" / "checkpoints" / "depth.safetensors")
    (tmp_path / "input").mkdir()
    pixels = (picture(batch=1, height=64, width=64)[0].numpy() * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "input" / "example.png")
    prompt = _workflow("depth_to_image.json")
    prompt["2"]["inputs"]["model_name"] = "dpt-tiny"
    prompt["4"]["inputs"]["ckpt_name"] = "depth.safetensors"
    prompt["3"]["inputs"]["steps"] = 4
    classes = NodeRegistry(load_custom_nodes=False).load().classes
    checked = validate_prompt(prompt, classes)
    assert checked.ok, checked.node_errors or checked.error
    result = PromptExecutor(classes, cache=CacheConfig(policy="none")).execute(checked.prompt, "p", {}, checked.outputs)
    assert result.status_str == "success", result.error
    saved = result.outputs["9"]["images"][0]
    image = Image.open(tmp_path / "output" / saved["subfolder"] / saved["filename"])
    assert image.size == (64, 64)
    assert "images" in result.outputs["12"]  # the depth preview


def test_controlnet_depth_workflow_uses_part_a_schema():
    """workflows/controlnet_depth.json feeds DepthEstimation into ControlNetApplyAdvanced's inputs."""
    from nodes.registry import NodeRegistry

    prompt = _workflow("controlnet_depth.json")
    assert prompt["11"]["inputs"]["image"] == ["2", 0] and prompt["2"]["class_type"] == "DepthEstimation"
    classes = NodeRegistry(load_custom_nodes=False).load().classes
    if "ControlNetApplyAdvanced" not in classes:
        pytest.skip("ControlNetApplyAdvanced is not registered yet")
    schema = classes["ControlNetApplyAdvanced"].INPUT_TYPES()
    names = set(schema["required"]) | set(schema.get("optional", {}))
    assert set(prompt["11"]["inputs"]) <= names and set(schema["required"]) <= set(prompt["11"]["inputs"])
    assert set(prompt["10"]["inputs"]) == set(classes["ControlNetLoader"].INPUT_TYPES()["required"])
