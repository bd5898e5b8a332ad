"""ImageUpscaleWithModel's engine on a big image: time, peak memory, tiles.

    .venv/bin/python bench/bench_upscale.py [--size 2048] [--blocks 1] [--features 8] [--growth 4]
    .venv/bin/python bench/bench_upscale.py --real     # RealESRGAN_x4plus-sized (23 blocks, 64 features)

Writes an x4 RRDB with seeded random weights (BasicSR layout, .safetensors) to a temporary
folder, loads it through engine.upscale.load and upscales one random size x size image with
the default 512 px tiles and 32 px overlap. Prints the seconds, the number of tiles, the peak
RSS of the process (CPU) or the peak CUDA memory, and the size of the output alone.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--blocks", type=int, default=1)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--growth", type=int, default=4)
    parser.add_argument("--real", action="store_true", help="23 blocks, 64 features, growth 32")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.real:
        args.blocks, args.features, args.growth = 23, 64, 32
    if args.threads:
        torch.set_num_threads(args.threads)

    from safetensors.torch import save_file

    from engine import devices
    from engine.upscale.load import load_upscale_model
    from engine.upscale.rrdb import RRDBNet
    from engine.upscale.run import OVERLAP, TILE, fit_tile
    from engine.upscale.tiling import tile_count

    torch.manual_seed(0)
    net = RRDBNet(features=args.features, blocks=args.blocks, growth=args.growth)
    image = torch.rand(1, args.size, args.size, 3, generator=torch.Generator().manual_seed(1))
    device = devices.torch_device()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x4.safetensors"
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
        model = load_upscale_model(path)
    from engine.upscale.run import upscale_image

    tile = fit_tile(model, TILE, devices.free_memory(device))
    tiles = tile_count(args.size, args.size, tile, OVERLAP)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    out = upscale_image(model, image)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    print(f"model      {model.describe()}, {model.nbytes / 2**20:.1f} MiB, on {device}")
    print(f"image      {args.size} px -> {out.shape[2]}x{out.shape[1]} ({tiles} tiles of {tile} px)")
    print(f"time       {seconds:.1f} s")
    print(f"output     {out.numel() * 4 / 2**20:.0f} MiB")
    print(f"peak RSS   {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    if device.type == "cuda":
        print(f"peak CUDA  {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
