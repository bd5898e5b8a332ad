"""SDXL-shaped txt2img through the Loom graph against diffusers' StableDiffusionXLPipeline, same weights.

    .venv/bin/python bench/bench_sdxl.py [--runs 3] [--steps 20] [--size 64]
    .venv/bin/python bench/bench_sdxl.py --realistic   # SDXL-sized random weights, 512 px, 4 steps

The same measurement as bench/bench_txt2img.py (its graph, timer and prompts): a single-file
checkpoint with random weights (tiny SDXL by default; --realistic: SDXL's real shapes, ~3.5 B
parameters, ~14 GB of RAM in float32, not for CI), the graph CheckpointLoaderSimple ->
CLIPTextEncode x2 -> KSampler -> VAEDecode -> SaveImage with the cache cleared before each run,
against StableDiffusionXLPipeline with the same sigmas and initial noise. Prints the median
times and their ratio (goal <= 1.03).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench.bench_txt2img import NEGATIVE, POSITIVE, graph_prompt, timed  # noqa: E402


def sdxl_sized_components():
    """UNet/VAE/two text encoders with SDXL base's shapes and seeded random weights (no download)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from tests.tiny_models import tiny_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=128, block_out_channels=(320, 640, 1280), layers_per_block=2,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20), use_linear_projection=True,
        cross_attention_dim=2048, addition_embed_type="text_time", addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816).eval()
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), latent_channels=4, layers_per_block=2,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        sample_size=1024, scaling_factor=0.13025).eval()

    def text_config(hidden, layers, heads, act, pad):
        return CLIPTextConfig(vocab_size=49408, hidden_size=hidden, intermediate_size=hidden * 4,
                              num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=77,
                              hidden_act=act, projection_dim=hidden, bos_token_id=49406, eos_token_id=49407,
                              pad_token_id=pad)

    text = CLIPTextModel(text_config(768, 12, 12, "quick_gelu", 49407)).eval()
    text_2 = CLIPTextModelWithProjection(text_config(1280, 32, 20, "gelu", 0)).eval()
    return dict(unet=unet, vae=vae, text_encoder=text, text_encoder_2=text_2, tokenizer=tiny_tokenizer(),
                tokenizer_2=tiny_tokenizer("!"))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realistic", action="store_true", help="SDXL-sized random model, 512 px, 4 steps")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--size", type=int, default=None, help="image width and height in pixels")
    parser.add_argument("--cfg", type=float, default=7.0)
    args = parser.parse_args()
    return args, args.steps or (4 if args.realistic else 20), args.size or (512 if args.realistic else 64)


def main():
    args, steps, size = parse_args()

    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline

    from engine import devices, folders
    from engine.model import default_alphas_cumprod
    from engine.sampling.discrete import DiscreteSchedule
    from engine.sampling.ksampler import sampling_sigmas
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_models import save_single_file, tiny_sd_components

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folders.configure(base_dir=base, output_dir=base / "output", input_dir=base / "input",
                          temp_dir=base / "temp")
        (base / "models" / "checkpoints").mkdir(parents=True)
        components = sdxl_sized_components() if args.realistic else tiny_sd_components("sdxl")
        save_single_file(components, base / "models" / "checkpoints" / "bench_xl.safetensors")

        registry = NodeRegistry(load_custom_nodes=False).load()
        executor = PromptExecutor(registry.classes, cache=CacheConfig())

        def run_graph(seed):
            executor.reset_cache()
            checked = validate_prompt(graph_prompt("bench_xl.safetensors", seed, steps, args.cfg, size),
                                      registry.classes)
            result = executor.execute(checked.prompt, f"bench-{seed}", {}, checked.outputs)
            assert result.status_str == "success", result.error

        acp = default_alphas_cumprod()
        sigmas = sampling_sigmas(DiscreteSchedule(((1 - acp) / acp) ** 0.5), "normal", steps).tolist()
        scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                           timestep_spacing="leading")
        names = ("vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "unet")
        pipe = StableDiffusionXLPipeline(**{k: components[k] for k in names}, scheduler=scheduler)
        pipe.to(devices.torch_device(), devices.unet_dtype())  # the device and dtype Loom uses
        pipe.set_progress_bar_config(disable=True)
        latent_size = size // 8

        def run_diffusers(seed):
            noise = torch.randn((1, 4, latent_size, latent_size), generator=torch.Generator("cpu").manual_seed(seed))
            with torch.no_grad():
                image = pipe(POSITIVE, negative_prompt=NEGATIVE, guidance_scale=args.cfg, latents=noise,
                             height=size, width=size, sigmas=sigmas).images[0]
            image.save(base / "diffusers.png")

        run_graph(0)  # warm-up: loads the checkpoint into the model cache
        run_diffusers(0)
        graph_times, diffusers_times = [], []
        for i in range(args.runs):  # interleaved, so load from other processes hits both alike
            graph_times.append(timed(lambda: run_graph(i + 1)))
            diffusers_times.append(timed(lambda: run_diffusers(i + 1)))

    graph_time, diffusers_time = statistics.median(graph_times), statistics.median(diffusers_times)
    label = "SDXL-sized" if args.realistic else "tiny SDXL"
    print(f"txt2img {label}, {size}px, {steps} steps euler/normal, cfg {args.cfg}, {args.runs} runs (median)")
    print(f"graph (Loom)         {graph_time:8.3f} s")
    print(f"diffusers pipeline   {diffusers_time:8.3f} s")
    print(f"ratio graph/diffusers {graph_time / diffusers_time:7.3f}   (goal <= 1.03)")


if __name__ == "__main__":
    main()
