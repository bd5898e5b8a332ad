"""txt2img through the Loom graph against the plain diffusers pipeline, same weights.

    .venv/bin/python bench/bench_txt2img.py [--runs 3] [--steps 20] [--size 64]
    .venv/bin/python bench/bench_txt2img.py --sd15        # SD1.5-sized random weights, 256 px, 4 steps

Writes a single-file checkpoint with random weights to a temporary folder, then
times (after one warm-up each, models already loaded):
  graph      CheckpointLoaderSimple -> CLIPTextEncode x2 -> EmptyLatentImage -> KSampler
             -> VAEDecode -> SaveImage, with the node output cache cleared before each run
  diffusers  StableDiffusionPipeline(prompt, negative_prompt) with the same scheduler
             sigmas, and the PIL image saved as PNG
Prints the median times, their ratio (goal <= 1.03), the time of a graph re-run with only
the seed changed (text encodings come from the cache), and the peak RSS of the process.
Nothing is downloaded; the SD1.5-sized run needs ~6 GB RAM and is not part of CI.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402

POSITIVE = "a lighthouse on a cliff at dusk, oil painting"
NEGATIVE = "blurry, lowres"


def sd15_sized_components():
    """UNet/VAE/CLIP with SD1.5's shapes and seeded random weights (no download)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from tests.tiny_models import tiny_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8).eval()
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), latent_channels=4, layers_per_block=2,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        sample_size=512, scaling_factor=0.18215).eval()
    text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072,
                                        num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=77,
                                        hidden_act="quick_gelu", projection_dim=768, bos_token_id=49406,
                                        eos_token_id=49407, pad_token_id=49407)).eval()
    return dict(unet=unet, vae=vae, text_encoder=text, tokenizer=tiny_tokenizer())


def graph_prompt(ckpt, seed, steps, cfg, size):
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": size, "height": size, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": POSITIVE, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": NEGATIVE, "clip": ["4", 1]}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": steps, "cfg": cfg, "sampler_name": "euler", "scheduler": "normal",
            "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
            "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "bench", "images": ["8", 0]}},
    }


def euler_reference(steps):
    """The euler/normal sigmas Loom samples with, and the diffusers scheduler that takes them."""
    from diffusers import EulerDiscreteScheduler

    from engine.model import default_alphas_cumprod
    from engine.sampling.discrete import DiscreteSchedule
    from engine.sampling.ksampler import sampling_sigmas

    acp = default_alphas_cumprod()
    sigmas = sampling_sigmas(DiscreteSchedule(((1 - acp) / acp) ** 0.5), "normal", steps).tolist()
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="leading")
    return sigmas, scheduler


def diffusers_runner(pipe, size, cfg, sigmas, out_path):
    """run(seed): the pipeline on the device and dtype Loom uses, seeded noise as Loom draws it."""
    from engine import devices

    pipe.to(devices.torch_device(), devices.unet_dtype())
    pipe.set_progress_bar_config(disable=True)
    latent_size = size // 8

    def run(seed):
        noise = torch.randn((1, 4, latent_size, latent_size), generator=torch.Generator("cpu").manual_seed(seed))
        with torch.no_grad():
            image = pipe(POSITIVE, negative_prompt=NEGATIVE, guidance_scale=cfg, latents=noise,
                         height=size, width=size, sigmas=sigmas).images[0]
        image.save(out_path)

    return run


def time_interleaved(run_graph, run_diffusers, runs):
    """Warm both up (loads), then time them alternately so load from other processes hits both alike."""
    run_graph(0)
    run_diffusers(0)
    graph_times, diffusers_times = [], []
    for i in range(runs):
        graph_times.append(timed(lambda: run_graph(i + 1)))
        diffusers_times.append(timed(lambda: run_diffusers(i + 1)))
    return graph_times, diffusers_times


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def parse_sizes(description):
    """The size flags the txt2img benches share -> (args, steps, size): tiny model at 64 px and
    20 steps by default, SD1.5-sized at 256 px and 4 steps with --sd15."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sd15", action="store_true", help="SD1.5-sized random model at 256 px, 4 steps")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--cfg", type=float, default=7.0)
    args = parser.parse_args()
    return args, args.steps or (4 if args.sd15 else 20), args.size or (256 if args.sd15 else 64)


def main():
    args, steps, size = parse_sizes(__doc__)

    from diffusers import StableDiffusionPipeline

    from engine import folders
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_models import save_single_file, tiny_sd_components

    torch.set_num_threads(max(1, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folders.configure(base_dir=base, output_dir=base / "output", input_dir=base / "input",
                          temp_dir=base / "temp")
        (base / "models" / "checkpoints").mkdir(parents=True)
        components = sd15_sized_components() if args.sd15 else tiny_sd_components("sd1")
        save_single_file(components, base / "models" / "checkpoints" / "bench.safetensors")

        registry = NodeRegistry(load_custom_nodes=False).load()
        executor = PromptExecutor(registry.classes, cache=CacheConfig())

        def run_graph(seed, clear_cache=True):
            if clear_cache:
                executor.reset_cache()
            checked = validate_prompt(graph_prompt("bench.safetensors", seed, steps, args.cfg, size), registry.classes)
            result = executor.execute(checked.prompt, f"bench-{seed}", {}, checked.outputs)
            assert result.status_str == "success", result.error

        sigmas, scheduler = euler_reference(steps)
        pipe = StableDiffusionPipeline(**{k: components[k] for k in ("vae", "text_encoder", "tokenizer", "unet")},
                                       scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                       requires_safety_checker=False)
        run_diffusers = diffusers_runner(pipe, size, args.cfg, sigmas, base / "diffusers.png")
        graph_times, diffusers_times = time_interleaved(run_graph, run_diffusers, args.runs)
        reseed_time = timed(lambda: run_graph(1000, clear_cache=False))

    graph_time, diffusers_time = statistics.median(graph_times), statistics.median(diffusers_times)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    label = "SD1.5-sized" if args.sd15 else "tiny"
    print(f"txt2img {label}, {size}px, {steps} steps euler/normal, cfg {args.cfg}, {args.runs} runs (median)")
    print(f"graph (Loom)         {graph_time:8.3f} s")
    print(f"diffusers pipeline   {diffusers_time:8.3f} s")
    print(f"ratio graph/diffusers {graph_time / diffusers_time:7.3f}   (goal <= 1.03)")
    print(f"graph re-run, new seed only {reseed_time:8.3f} s   (ratio to full graph run {reseed_time / graph_time:.3f})")
    print(f"peak RSS             {peak_mb:8.0f} MB")


if __name__ == "__main__":
    main()
