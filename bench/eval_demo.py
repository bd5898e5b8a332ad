"""How well the demo model draws what it is asked, on combinations it never saw.

    .venv/bin/python bench/eval_demo.py [--checkpoint FILE] [--steps 20] [--cfg 6] [--seeds 2] [--sheet out.png]

For every held-out colour x shape x position combination (demo.scenes.held_out:
none of them was in the training set) and each seed, runs the ordinary txt2img
graph (CheckpointLoaderSimple -> CLIPTextEncode -> KSampler -> VAEDecode) at
128 px on a plain white, black or gray background, medium or large size, reads
the picture back with demo.classify (hue, centroid, template overlap) and
prints the accuracy per attribute and the median time per image.
Goals: colour >= 90 %, position >= 80 %, shape >= 70 %, < 5 s per image at 20 steps on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

DEFAULT_CHECKPOINT = REPO_ROOT / "models" / "checkpoints" / "loom_demo_sd1.safetensors"
BACKGROUNDS = ("white", "black", "gray")
SIZES = ("medium", "large")


def eval_prompts(seeds: int) -> list[dict]:
    from demo.scenes import POSITION_PHRASES, held_out, with_article

    cases = []
    for index, (colour, shape, position) in enumerate(sorted(held_out())):
        size = SIZES[index % len(SIZES)]
        background = BACKGROUNDS[index % len(BACKGROUNDS)]
        text = with_article(f"{size} {colour} {shape} {POSITION_PHRASES[position]} on {with_article(background)} background")
        for seed in range(seeds):
            cases.append(dict(text=text, colour=colour, shape=shape, position=position, seed=seed))
    return cases


def graph(ckpt: str, text: str, seed: int, steps: int, cfg: float, sampler: str, scheduler: str) -> dict:
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 128, "height": 128, "batch_size": 1}},
        "5": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": steps, "cfg": cfg, "sampler_name": sampler, "scheduler": scheduler,
            "denoise": 1.0, "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "PreviewImage", "inputs": {"images": ["6", 0]}},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=6.0)
    parser.add_argument("--sampler", default="euler")
    parser.add_argument("--scheduler", default="normal")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N cases (a quick look)")
    parser.add_argument("--sheet", type=Path, help="save all generated images as one contact sheet")
    args = parser.parse_args(argv)

    import torch
    from PIL import Image

    from demo.classify import read_image
    from engine import folders
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry

    torch.set_num_threads(max(1, torch.get_num_threads()))
    cases = eval_prompts(args.seeds)[:args.limit]
    images, times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folders.configure(base_dir=base, output_dir=base / "output", input_dir=base / "input", temp_dir=base / "temp")
        (base / "models" / "checkpoints").mkdir(parents=True)
        shutil.copy(args.checkpoint, base / "models" / "checkpoints" / args.checkpoint.name)
        registry = NodeRegistry(load_custom_nodes=False).load()
        executor = PromptExecutor(registry.classes, cache=CacheConfig())
        for index, case in enumerate([cases[0], *cases]):  # the first run loads the model and is not timed
            prompt = graph(args.checkpoint.name, case["text"], case["seed"], args.steps, args.cfg,
                           args.sampler, args.scheduler)
            checked = validate_prompt(prompt, registry.classes)
            started = time.perf_counter()
            result = executor.execute(checked.prompt, f"eval-{index}", {}, checked.outputs)
            elapsed = time.perf_counter() - started
            if result.status_str != "success":
                print(f"failed: {case['text']}: {result.error}")
                return 1
            if index == 0:
                continue
            times.append(elapsed)
            saved = result.outputs["7"]["images"][0]
            images.append(Image.open(base / "temp" / saved["subfolder"] / saved["filename"]).convert("RGB"))

    right = {"colour": 0, "position": 0, "shape": 0}
    for case, image in zip(cases, images):
        reading = read_image(image)
        right["colour"] += reading.colour == case["colour"]
        right["position"] += reading.position == case["position"]
        right["shape"] += reading.shape == case["shape"]
    total = len(cases)
    print(f"demo model {args.checkpoint.name}: {total} images of held-out combinations, 128 px, "
          f"{args.steps} steps {args.sampler}/{args.scheduler}, cfg {args.cfg}, {torch.get_num_threads()} threads")
    goals = {"colour": 0.9, "position": 0.8, "shape": 0.7}
    for name, count in right.items():
        print(f"{name:9s} {count / total:6.1%}  ({count}/{total}, goal >= {goals[name]:.0%})")
    print(f"time per image (median) {statistics.median(times):.2f} s   (goal < 5 s at 20 steps)")
    if args.sheet:
        columns = 16
        sheet = Image.new("RGB", (128 * columns, 128 * ((len(images) + columns - 1) // columns)))
        for i, image in enumerate(images):
            sheet.paste(image, ((i % columns) * 128, (i // columns) * 128))
        sheet.save(args.sheet)
        print(f"contact sheet: {args.sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
