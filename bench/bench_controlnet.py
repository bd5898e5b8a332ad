"""ControlNet txt2img through the Loom graph against diffusers' StableDiffusionControlNetPipeline.

    .venv/bin/python bench/bench_controlnet.py [--runs 3] [--steps 20] [--size 64]
    .venv/bin/python bench/bench_controlnet.py --sd15     # SD1.5-sized random weights, 256 px, 4 steps

Writes a single-file checkpoint and an original-layout ControlNet (random weights,
ControlNetModel.from_unet) to a temporary folder, then times (after one warm-up each,
models already loaded):
  graph      CheckpointLoaderSimple, ControlNetLoader, LoadImage (hint), CLIPTextEncode x2,
             ControlNetApplyAdvanced, EmptyLatentImage, KSampler, VAEDecode, SaveImage,
             with the node output cache cleared before each run
  diffusers  StableDiffusionControlNetPipeline(prompt, negative_prompt, image=the hint PNG)
             with the same scheduler sigmas, and the PIL image saved as PNG
Prints the median times and their ratio (goal <= 1.05). Nothing is downloaded; the
SD1.5-sized run needs ~8 GB RAM and is not part of CI.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from bench.bench_txt2img import parse_sizes, sd15_sized_components, timed  # noqa: E402

POSITIVE = "a lighthouse on a cliff at dusk, oil painting"
NEGATIVE = "blurry, lowres"


def graph_prompt(seed, steps, cfg, size):
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "bench.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": size, "height": size, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": POSITIVE, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": NEGATIVE, "clip": ["4", 1]}},
        "10": {"class_type": "LoadImage", "inputs": {"image": "hint.png"}},
        "11": {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "bench_cn.safetensors"}},
        "12": {"class_type": "ControlNetApplyAdvanced", "inputs": {
            "positive": ["6", 0], "negative": ["7", 0], "control_net": ["11", 0], "image": ["10", 0],
            "strength": 1.0, "start_percent": 0.0, "end_percent": 1.0}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": steps, "cfg": cfg, "sampler_name": "euler", "scheduler": "normal",
            "denoise": 1.0, "model": ["4", 0], "positive": ["12", 0], "negative": ["12", 1],
            "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "bench", "images": ["8", 0]}},
    }


def hint_picture(size: int) -> Image.Image:
    """White edges on black, like a Canny map."""
    rng = np.random.default_rng(0)
    picture = np.zeros((size, size, 3), dtype=np.uint8)
    for _ in range(12):
        y, x = rng.integers(0, size, 2)
        picture[y, :] = 255
        picture[:, x] = 255
    return Image.fromarray(picture)


def main():
    args, steps, size = parse_sizes(__doc__)

    from diffusers import EulerDiscreteScheduler, StableDiffusionControlNetPipeline

    from engine import devices, folders
    from engine.model import default_alphas_cumprod
    from engine.sampling.discrete import DiscreteSchedule
    from engine.sampling.ksampler import sampling_sigmas
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_controlnets import save_original_file, tiny_controlnet
    from tests.tiny_models import save_single_file, tiny_sd_components

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folders.configure(base_dir=base, output_dir=base / "output", input_dir=base / "input",
                          temp_dir=base / "temp")
        for folder in ("models/checkpoints", "models/controlnet", "input"):
            (base / folder).mkdir(parents=True)
        components = sd15_sized_components() if args.sd15 else tiny_sd_components("sd1")
        controlnet = tiny_controlnet(unet=components["unet"], scale=0.01)
        save_single_file(components, base / "models" / "checkpoints" / "bench.safetensors")
        save_original_file(controlnet, base / "models" / "controlnet" / "bench_cn.safetensors")
        hint_picture(size).save(base / "input" / "hint.png")

        registry = NodeRegistry(load_custom_nodes=False).load()
        executor = PromptExecutor(registry.classes, cache=CacheConfig())

        def run_graph(seed):
            executor.reset_cache()
            checked = validate_prompt(graph_prompt(seed, steps, args.cfg, size), registry.classes)
            result = executor.execute(checked.prompt, f"bench-{seed}", {}, checked.outputs)
            assert result.status_str == "success", result.error

        acp = default_alphas_cumprod()
        sigmas = sampling_sigmas(DiscreteSchedule(((1 - acp) / acp) ** 0.5), "normal", steps).tolist()
        scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                           timestep_spacing="leading")
        pipe = StableDiffusionControlNetPipeline(
            **{k: components[k] for k in ("vae", "text_encoder", "tokenizer", "unet")}, controlnet=controlnet,
            scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        pipe.to(devices.torch_device(), devices.unet_dtype())  # the device and dtype Loom uses
        pipe.set_progress_bar_config(disable=True)
        latent_size = size // 8

        def run_diffusers(seed):
            hint = Image.open(base / "input" / "hint.png").convert("RGB")
            noise = torch.randn((1, 4, latent_size, latent_size), generator=torch.Generator("cpu").manual_seed(seed))
            with torch.no_grad():
                image = pipe(POSITIVE, negative_prompt=NEGATIVE, image=hint, guidance_scale=args.cfg, latents=noise,
                             height=size, width=size, sigmas=sigmas).images[0]
            image.save(base / "diffusers.png")

        run_graph(0)  # warm-up: loads the checkpoint and the ControlNet into the model cache
        run_diffusers(0)
        graph_times, diffusers_times = [], []
        for i in range(args.runs):  # interleaved, so load from other processes hits both alike
            graph_times.append(timed(lambda: run_graph(i + 1)))
            diffusers_times.append(timed(lambda: run_diffusers(i + 1)))

    graph_time, diffusers_time = statistics.median(graph_times), statistics.median(diffusers_times)
    label = "SD1.5-sized" if args.sd15 else "tiny"
    print(f"ControlNet txt2img {label}, {size}px, {steps} steps euler/normal, cfg {args.cfg}, "
          f"{args.runs} runs (median)")
    print(f"graph (Loom)         {graph_time:8.3f} s")
    print(f"diffusers pipeline   {diffusers_time:8.3f} s")
    print(f"ratio graph/diffusers {graph_time / diffusers_time:7.3f}   (goal <= 1.05)")


if __name__ == "__main__":
    main()
