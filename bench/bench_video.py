"""Text-to-video through the Loom graph against diffusers' TextToVideoSDPipeline, same weights.

    .venv/bin/python bench/bench_video.py [--runs 3] [--steps 10] [--size 64] [--frames 8]
    .venv/bin/python bench/bench_video.py --full     # text-to-video-ms-1.7b-sized random weights,
                                                     # 256 px, 16 frames, 4 steps (~8 GB RAM, GPU advised)

Writes a diffusers text-to-video folder with random weights (tiny by default) to a temporary
folder, then times (after one warm-up each, models already loaded):
  graph      workflows/text_to_video.json: CheckpointLoaderSimple -> CLIPTextEncode x2 ->
             EmptyLatentVideo -> KSampler (euler/normal) -> VAEDecode -> SaveAnimatedWEBP, with the
             node output cache cleared before each run
  diffusers  TextToVideoSDPipeline(prompt, negative_prompt) with Euler on linspace timesteps (the
             same schedule as euler/normal at 4 or 10 steps), frames saved as the same animated WebP
Prints the median times and their ratio (goal <= 1.03). Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402

from bench.bench_txt2img import NEGATIVE, POSITIVE, timed  # noqa: E402

FOLDER = "text-to-video-ms-1.7b"


def full_sized_components():
    """UNet3D/VAE/OpenCLIP-H with text-to-video-ms-1.7b's shapes and seeded random weights."""
    from diffusers import AutoencoderKL, UNet3DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from tests.tiny_models import tiny_tokenizer

    torch.manual_seed(0)
    unet = UNet3DConditionModel(sample_size=32, cross_attention_dim=1024, attention_head_dim=64).eval()
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), latent_channels=4, layers_per_block=2,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        sample_size=256, scaling_factor=0.18215).eval()
    text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=1024, intermediate_size=4096,
                                        num_hidden_layers=23, num_attention_heads=16, max_position_embeddings=77,
                                        hidden_act="gelu", projection_dim=512, bos_token_id=0,
                                        eos_token_id=2, pad_token_id=1)).eval()
    return dict(unet=unet, vae=vae, text_encoder=text, tokenizer=tiny_tokenizer("!"))


def graph_prompt(seed, steps, cfg, size, frames):
    prompt = json.loads((REPO_ROOT / "workflows" / "text_to_video.json").read_text())
    prompt["3"]["inputs"].update(seed=seed, steps=steps, cfg=cfg)
    prompt["5"]["inputs"].update(width=size, height=size, length=frames)
    prompt["6"]["inputs"]["text"], prompt["7"]["inputs"]["text"] = POSITIVE, NEGATIVE
    prompt["9"]["inputs"]["filename_prefix"] = "bench"
    return prompt


def parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="text-to-video-ms-1.7b-sized model, 256 px, 16 frames")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--cfg", type=float, default=9.0)
    args = parser.parse_args()
    args.steps = args.steps or (4 if args.full else 10)
    args.size = args.size or (256 if args.full else 64)
    args.frames = args.frames or (16 if args.full else 8)
    return args


def main():
    args = parse()

    from diffusers import EulerDiscreteScheduler, TextToVideoSDPipeline

    from engine import devices, folders
    from engine.animation import save_webp
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_video import save_video_folder, tiny_video_components

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folders.configure(base_dir=base, output_dir=base / "output", input_dir=base / "input",
                          temp_dir=base / "temp")
        components = full_sized_components() if args.full else tiny_video_components()
        save_video_folder(components, base / "models" / "checkpoints" / FOLDER)

        registry = NodeRegistry(load_custom_nodes=False).load()
        executor = PromptExecutor(registry.classes, cache=CacheConfig())

        def run_graph(seed):
            executor.reset_cache()
            prompt = graph_prompt(seed, args.steps, args.cfg, args.size, args.frames)
            checked = validate_prompt(prompt, registry.classes)
            assert checked.ok, checked.node_errors or checked.error
            result = executor.execute(checked.prompt, f"bench-{seed}", {}, checked.outputs)
            assert result.status_str == "success", result.error

        scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                           num_train_timesteps=1000, timestep_spacing="linspace")
        pipe = TextToVideoSDPipeline(**{k: components[k] for k in ("vae", "text_encoder", "tokenizer", "unet")},
                                     scheduler=scheduler)
        pipe.to(devices.torch_device(), devices.unet_dtype())  # the device and dtype Loom uses
        pipe.set_progress_bar_config(disable=True)
        latent_size = args.size // 8

        def run_diffusers(seed):
            noise = torch.randn((1, 4, args.frames, latent_size, latent_size),
                                generator=torch.Generator("cpu").manual_seed(seed))
            with torch.no_grad():
                frames = pipe(POSITIVE, negative_prompt=NEGATIVE, guidance_scale=args.cfg, latents=noise,
                              num_frames=args.frames, height=args.size, width=args.size,
                              num_inference_steps=args.steps, output_type="pt").frames[0]
            save_webp(frames.permute(0, 2, 3, 1).float().cpu(), base / "diffusers.webp", 8.0, False, 90,
                      "default", {})

        run_graph(0)  # warm-up: loads the model into the model cache
        run_diffusers(0)
        graph_times, diffusers_times = [], []
        for i in range(args.runs):  # interleaved, so load from other processes hits both alike
            graph_times.append(timed(lambda: run_graph(i + 1)))
            diffusers_times.append(timed(lambda: run_diffusers(i + 1)))

    graph_time, diffusers_time = statistics.median(graph_times), statistics.median(diffusers_times)
    label = "text-to-video-ms-1.7b-sized" if args.full else "tiny"
    print(f"text-to-video {label}, {args.size}px x {args.frames} frames, {args.steps} steps euler/normal, "
          f"cfg {args.cfg}, {args.runs} runs (median), device {devices.torch_device()}")
    print(f"graph (Loom)         {graph_time:8.3f} s")
    print(f"diffusers pipeline   {diffusers_time:8.3f} s")
    print(f"ratio graph/diffusers {graph_time / diffusers_time:7.3f}   (goal <= 1.03)")


if __name__ == "__main__":
    main()
