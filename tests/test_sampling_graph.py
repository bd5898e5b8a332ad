"""Real API-format graphs run by graph.executor equal the diffusers pipelines.

CheckpointLoaderSimple loads a tiny single-file checkpoint written by tests/tiny_models.py;
the diffusers reference uses the same components (same seeded weights) and the same
prompts, seed and schedule. Saved PNGs are compared with the reference rounded to 8 bits.
"""
import numpy as np
import pytest
import torch
from PIL import Image

from graph.executor import CacheConfig, PromptExecutor
from graph.validate import validate_prompt
from nodes.registry import NodeRegistry
from tests.tiny_models import save_single_file, tiny_sd_components

SD_BETAS = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)
POSITIVE = "a glass bottle on a table, sunlight"
NEGATIVE = "blurry, text"


pytestmark = pytest.mark.usefixtures("cpu_fp32")  # the diffusers references run on CPU, fp32


@pytest.fixture
def base(tmp_folders, tmp_path):
    (tmp_path / "models" / "checkpoints").mkdir(parents=True)
    (tmp_path / "input").mkdir()
    return tmp_path


@pytest.fixture(scope="module")
def registry():
    return NodeRegistry(load_custom_nodes=False).load()


def _run_graph(registry, prompt):
    checked = validate_prompt(prompt, registry.classes)
    assert checked.ok, checked.node_errors or checked.error
    result = PromptExecutor(registry.classes, cache=CacheConfig(policy="none")).execute(
        checked.prompt, "test", {}, checked.outputs)
    assert result.status_str == "success", result.error
    return result


def _saved_image(base, result, node_id="9"):
    entry = result.outputs[node_id]["images"][0]
    path = base / entry["type"] / entry["subfolder"] / entry["filename"]
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def _reference_pixels(images):
    """diffusers output [B,3,H,W] 0..1 -> uint8 HWC like a saved PNG."""
    return (images[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.int16)


def _sigmas(scheduler, steps, denoise=1.0):
    from engine.model import default_alphas_cumprod
    from engine.sampling.discrete import DiscreteSchedule
    from engine.sampling.ksampler import sampling_sigmas

    acp = default_alphas_cumprod()
    return sampling_sigmas(DiscreteSchedule(((1 - acp) / acp) ** 0.5), scheduler, steps, denoise).tolist()


def _euler():
    from diffusers import EulerDiscreteScheduler

    return EulerDiscreteScheduler(**SD_BETAS, timestep_spacing="leading")


def _txt2img_prompt(ckpt, seed, steps, cfg, scheduler, latent_node=None):
    prompt = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": POSITIVE, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": NEGATIVE, "clip": ["4", 1]}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": steps, "cfg": cfg, "sampler_name": "euler", "scheduler": scheduler,
            "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
            "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "eq", "images": ["8", 0]}},
    }
    return prompt


def _noise(seed):
    return torch.randn((1, 4, 8, 8), generator=torch.Generator("cpu").manual_seed(seed))


def test_txt2img_graph_equals_stable_diffusion_pipeline(base, registry):
    from diffusers import StableDiffusionPipeline

    components = tiny_sd_components("sd1")
    save_single_file(components, base / "models" / "checkpoints" / "tiny_sd1.safetensors")
    seed, steps, cfg = 42, 6, 7.0
    result = _run_graph(registry, _txt2img_prompt("tiny_sd1.safetensors", seed, steps, cfg, "karras"))
    ours = _saved_image(base, result)

    pipe = StableDiffusionPipeline(**{k: components[k] for k in ("vae", "text_encoder", "tokenizer", "unet")},
                                   scheduler=_euler(), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        images = pipe(POSITIVE, negative_prompt=NEGATIVE, guidance_scale=cfg, latents=_noise(seed),
                      height=64, width=64, sigmas=_sigmas("karras", steps), output_type="pt").images
    theirs = _reference_pixels(images)
    assert ours.shape == theirs.shape == (64, 64, 3)
    assert ours.std() > 2
    assert np.abs(ours - theirs).max() <= 2


def test_img2img_graph_equals_img2img_pipeline(base, registry):
    from diffusers import StableDiffusionImg2ImgPipeline

    components = tiny_sd_components("sd1")
    save_single_file(components, base / "models" / "checkpoints" / "tiny_sd1.safetensors")
    picture = (np.random.default_rng(3).random((8, 8, 3)) * 255).astype(np.uint8)
    Image.fromarray(picture).resize((64, 64), Image.BILINEAR).save(base / "input" / "start.png")
    seed, steps, cfg, denoise = 7, 4, 6.0, 0.5
    prompt = _txt2img_prompt("tiny_sd1.safetensors", seed, steps, cfg, "normal")
    prompt["10"] = {"class_type": "LoadImage", "inputs": {"image": "start.png"}}
    prompt["5"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}}
    prompt["3"]["inputs"]["denoise"] = denoise
    result = _run_graph(registry, prompt)
    ours = _saved_image(base, result)

    pixels = torch.from_numpy(np.asarray(Image.open(base / "input" / "start.png").convert("RGB")).copy())
    pixels = pixels.permute(2, 0, 1)[None].float() / 255
    vae = components["vae"]
    with torch.no_grad():
        init_latent = vae.encode(pixels * 2 - 1).latent_dist.mode() * vae.config.scaling_factor
    pipe = StableDiffusionImg2ImgPipeline(**{k: components[k] for k in ("vae", "text_encoder", "tokenizer", "unet")},
                                          scheduler=_euler(), safety_checker=None, feature_extractor=None,
                                          requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        images = pipe(POSITIVE, negative_prompt=NEGATIVE, image=init_latent, strength=denoise,
                      guidance_scale=cfg, generator=torch.Generator("cpu").manual_seed(seed),
                      sigmas=_sigmas("normal", int(steps / denoise)), output_type="pt").images
    assert np.abs(ours - _reference_pixels(images)).max() <= 2


def test_sdxl_graph_equals_sdxl_pipeline(base, registry):
    from diffusers import StableDiffusionXLPipeline

    components = tiny_sd_components("sdxl")
    save_single_file(components, base / "models" / "checkpoints" / "tiny_sdxl.safetensors")
    seed, steps, cfg = 3, 5, 5.0
    result = _run_graph(registry, _txt2img_prompt("tiny_sdxl.safetensors", seed, steps, cfg, "normal"))
    ours = _saved_image(base, result)
    pipe = StableDiffusionXLPipeline(**{k: components[k] for k in ("vae", "text_encoder", "text_encoder_2",
                                                                     "tokenizer", "tokenizer_2", "unet")},
                                     scheduler=_euler())
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        images = pipe(POSITIVE, negative_prompt=NEGATIVE, guidance_scale=cfg, latents=_noise(seed),
                      height=64, width=64, sigmas=_sigmas("normal", steps), output_type="pt").images
    assert ours.std() > 2
    assert np.abs(ours - _reference_pixels(images)).max() <= 2


def test_unsupported_sampler_fails_validation_listing_supported_ones(base, registry):
    save_single_file(tiny_sd_components("sd1"), base / "models" / "checkpoints" / "tiny_sd1.safetensors")
    prompt = _txt2img_prompt("tiny_sd1.safetensors", 1, 2, 7.0, "normal")
    prompt["3"]["inputs"]["sampler_name"] = "dpm_adaptive"
    checked = validate_prompt(prompt, registry.classes)
    assert not checked.ok
    text = str(checked.node_errors["3"])
    assert "dpm_adaptive" in text and "euler_ancestral" in text and "dpmpp_2m" in text


def test_ksampler_reports_progress_and_previews_and_stops_on_interrupt(base, registry):
    from graph.events import EventBus

    save_single_file(tiny_sd_components("sd1"), base / "models" / "checkpoints" / "tiny_sd1.safetensors")
    prompt = _txt2img_prompt("tiny_sd1.safetensors", 1, 4, 7.0, "normal")
    checked = validate_prompt(prompt, registry.classes)
    bus = EventBus()
    events = []
    bus.subscribe(lambda event, data, client_id: events.append((event, data)))
    executor = PromptExecutor(registry.classes, bus, CacheConfig(policy="none"))
    result = executor.execute(checked.prompt, "p1", {}, checked.outputs)
    assert result.status_str == "success"
    progress = [(d["value"], d["max"]) for e, d in events if e == "progress" and d.get("node") == "3"]
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    previews = [d for e, d in events if e == "preview_image"]
    assert previews and previews[0]["format"] == "JPEG" and previews[0]["image"][:2] == b"\xff\xd8"

    def interrupt_at_second_step(event, data, client_id):
        if event == "progress" and data.get("node") == "3" and data["value"] == 2:
            executor.interrupt()

    bus.subscribe(interrupt_at_second_step)
    events.clear()
    result = executor.execute(checked.prompt, "p2", {}, checked.outputs)
    assert result.status_str == "interrupted"
    steps_seen = [d["value"] for e, d in events if e == "progress" and d.get("node") == "3"]
    assert steps_seen == [1, 2]


def test_inpainting_graph_equals_inpaint_pipeline(base, registry):
    """9-channel inpainting checkpoint + InpaintModelConditioning (mask from the PNG's alpha)."""
    from diffusers import StableDiffusionInpaintPipeline

    components = tiny_sd_components("sd1", in_channels=9)
    save_single_file(components, base / "models" / "checkpoints" / "tiny_inpaint.safetensors")
    picture = np.asarray(Image.fromarray((np.random.default_rng(5).random((8, 8, 3)) * 255).astype(np.uint8))
                         .resize((64, 64), Image.BILINEAR))
    alpha = np.full((64, 64), 255, np.uint8)
    alpha[16:48, 8:40] = 0  # LoadImage: transparent = masked (to repaint); aligned to 8 px
    Image.fromarray(np.dstack([picture, alpha]), "RGBA").save(base / "input" / "hole.png")
    seed, steps, cfg = 11, 5, 6.0
    prompt = _txt2img_prompt("tiny_inpaint.safetensors", seed, steps, cfg, "karras")
    prompt["10"] = {"class_type": "LoadImage", "inputs": {"image": "hole.png"}}
    prompt["11"] = {"class_type": "InpaintModelConditioning", "inputs": {
        "positive": ["6", 0], "negative": ["7", 0], "vae": ["4", 2], "pixels": ["10", 0], "mask": ["10", 1],
        "noise_mask": False}}
    prompt["3"]["inputs"]["positive"] = ["11", 0]
    prompt["3"]["inputs"]["negative"] = ["11", 1]
    result = _run_graph(registry, prompt)
    ours = _saved_image(base, result)

    pixels = torch.from_numpy(picture.copy()).permute(2, 0, 1)[None].float() / 255
    mask = torch.from_numpy(alpha == 0).float()[None, None]
    vae = components["vae"]
    with torch.no_grad():
        masked = pixels * (1 - mask) + 0.5 * mask
        masked_latent = vae.encode(masked * 2 - 1).latent_dist.mode() * vae.config.scaling_factor
    pipe = StableDiffusionInpaintPipeline(**{k: components[k] for k in ("vae", "text_encoder", "tokenizer", "unet")},
                                          scheduler=_euler(), safety_checker=None, feature_extractor=None,
                                          requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        images = pipe(POSITIVE, negative_prompt=NEGATIVE, image=pixels, mask_image=mask,
                      masked_image_latents=masked_latent, latents=_noise(seed), strength=1.0, height=64, width=64,
                      guidance_scale=cfg, sigmas=_sigmas("karras", steps), output_type="pt").images
    assert np.abs(ours - _reference_pixels(images)).max() <= 2
