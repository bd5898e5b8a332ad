"""Train the demo model: python -m demo.train [--work DIR] [--out FILE]

Three stages, each resumable (a checkpoint every few hundred steps in --work;
run the same command again to continue where it stopped):

1. autoencoder: an SD1-shaped AutoencoderKL on random 64 px crops of scenes,
   then its latent space is shifted and scaled (exactly, inside quant_conv and
   post_quant_conv) so latents times SD1's 0.18215 have zero mean and unit variance;
2. latents: a fixed set of training scenes rendered at 128 px and encoded once;
3. diffusion: a small CLIP text encoder and UNet trained together on those latents
   (epsilon prediction, SD1's noise schedule, min-SNR weighting, 10 % empty
   captions for classifier-free guidance, EMA weights), in learning-rate cycles
   (--unet-cycles: 4,000 steps, then 3,000 more from half the peak); from step
   5,000 the noisiest steps weigh up to 10x more (--high-noise-from, --high-noise-cap),
   which is where the position of a shape is decided;
4. decoder: the autoencoder's decoder fine-tuned on whole 128 px pictures with the
   encoder frozen (as SD's "ft-MSE" VAE was), for sharper edges; the latent space
   the UNet learned does not change.

The EMA weights are saved in half precision as one single-file SD1.x checkpoint
in the original LDM layout, which Loom loads like any downloaded checkpoint.
Losses go to --work/losses_*.csv and the plot to --plot (docs/demo_loss.png).
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm

from demo import models
from demo.data import image_crops, to_tensor, training_scenes
from demo.render import render
from demo.scenes import caption, held_out, random_scene

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "models" / "checkpoints" / "loom_demo_sd1.safetensors"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "demo" / ".work", help="checkpoints and logs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the checkpoint to write")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "demo_loss.png", help="the loss curves")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for quick recipe checks")
    parser.add_argument("--vae-steps", type=int, default=1500)
    parser.add_argument("--vae-batch", type=int, default=16)
    parser.add_argument("--images", type=int, default=12000, help="training scenes for the diffusion stage")
    parser.add_argument("--unet-cycles", default="4000,3000",
                        help="diffusion steps per learning-rate cycle (comma-separated); each cycle warms up "
                             "and decays again from half the previous cycle's peak")
    parser.add_argument("--unet-batch", type=int, default=32)
    parser.add_argument("--high-noise-from", type=int, default=5000,
                        help="from this diffusion step on, weigh the noisiest steps more (see train_diffusion)")
    parser.add_argument("--high-noise-cap", type=float, default=10.0)
    parser.add_argument("--decoder-steps", type=int, default=1000)
    parser.add_argument("--decoder-batch", type=int, default=8)
    parser.add_argument("--save-every", type=int, default=250, help="steps between resumable checkpoints")
    return parser.parse_args(argv)


# ------------------------------------------------------------------ helpers

def cycles(text: str) -> list[int]:
    return [int(part) for part in str(text).split(",") if part.strip()]


def cyclic_lr(step: int, lengths: list[int], peak: float) -> float:
    """cosine_lr restarted at each cycle boundary, each cycle at half the previous peak."""
    for index, length in enumerate(lengths):
        if step < length or index == len(lengths) - 1:
            return cosine_lr(min(step, length), length, peak)
        step -= length
        peak /= 2


def cosine_lr(step: int, total: int, peak: float, warmup: int = 200, floor: float = 0.1) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def pixel_loss(decoded, images):
    """L1 + MSE between pictures in -1..1."""
    return (decoded - images).abs().mean() + (decoded - images).pow(2).mean()


def optimise(optimizer, loss, parameters) -> None:
    """One step: gradients of `loss`, clipped to norm 1, applied."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, 1.0)
    optimizer.step()


def save_state(path: Path, state: dict) -> None:
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    temporary.replace(path)


def load_state(path: Path):
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None


def log_losses(path: Path, rows: list[tuple[int, float]]) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["step", "loss"])
        writer.writerows(rows)


def record_time(work: Path, stage: str, seconds: float) -> None:
    path = work / "times.json"
    times = json.loads(path.read_text()) if path.exists() else {}
    times[stage] = times.get(stage, 0.0) + seconds
    path.write_text(json.dumps(times, indent=2))


# ------------------------------------------------------------------ stage 1: autoencoder

def train_autoencoder(args, device) -> torch.nn.Module:
    final = args.work / "vae_final.pt"
    vae = models.build_vae(args.seed).to(device)
    if final.exists():
        vae.load_state_dict(torch.load(final, map_location=device))
        return vae
    optimizer = torch.optim.AdamW(vae.parameters(), lr=1e-3, weight_decay=0.0)
    rng = random.Random(args.seed + 1)
    step = 0
    resume = load_state(args.work / "vae.pt")
    if resume:
        vae.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        rng.setstate(resume["rng"])
        torch.set_rng_state(resume["torch_rng"])
        step = resume["step"]
    started, pending = time.time(), []
    bar = tqdm(total=args.vae_steps, initial=step, desc="autoencoder", unit="step")
    while step < args.vae_steps:
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, args.vae_steps, 1e-3)
        images = image_crops(rng, args.vae_batch, models.IMAGE_SIZE, 64).to(device)
        posterior = vae.encode(images).latent_dist
        decoded = vae.decode(posterior.sample()).sample
        reconstruction = pixel_loss(decoded, images)
        kl = posterior.kl().mean() / images[0].numel()
        optimise(optimizer, reconstruction + 1e-6 * kl, vae.parameters())
        step += 1
        pending.append((step, reconstruction.item()))
        bar.update(1)
        bar.set_postfix(loss=f"{pending[-1][1]:.4f}")
        if step % args.save_every == 0 or step == args.vae_steps:
            log_losses(args.work / "losses_autoencoder.csv", pending)
            pending = []
            save_state(args.work / "vae.pt", dict(model=vae.state_dict(), optimizer=optimizer.state_dict(),
                                                 rng=rng.getstate(), torch_rng=torch.get_rng_state(), step=step))
    bar.close()
    record_time(args.work, "autoencoder", time.time() - started)
    normalise_latent_space(vae, args, device)
    torch.save(vae.state_dict(), final)
    return vae


@torch.no_grad()
def normalise_latent_space(vae, args, device) -> None:
    """Shift and scale the latents per channel so 0.18215 x latent has mean 0 and std 1.

    quant_conv and post_quant_conv are 1x1 convolutions (linear maps), so the
    change is folded into them exactly: the decoder sees the same values as before.
    """
    vae.eval()
    scenes = training_scenes(512, args.seed + 2)
    images = to_tensor([render(scene, models.IMAGE_SIZE) for scene in scenes]).to(device)
    means = torch.cat([vae.encode(chunk).latent_dist.mean for chunk in images.split(64)])
    shift = means.mean(dim=(0, 2, 3))
    scale = 1.0 / (means.std(dim=(0, 2, 3)) * models.VAE_SCALING_FACTOR)
    channels = shift.numel()
    quant = vae.quant_conv
    quant.weight[:channels] *= scale[:, None, None, None]
    quant.bias[:channels] = (quant.bias[:channels] - shift) * scale
    quant.bias[channels:] += 2 * torch.log(scale)
    post = vae.post_quant_conv
    post.bias += post.weight[:, :, 0, 0] @ shift
    post.weight /= scale[None, :, None, None]
    vae.train()


# ------------------------------------------------------------------ stage 2: latents

@torch.no_grad()
def encode_training_set(args, vae, device):
    path = args.work / "latents.pt"
    if path.exists():
        return torch.load(path, map_location="cpu", weights_only=False)
    started = time.time()
    vae.eval()
    scenes = training_scenes(args.images, args.seed + 3)
    latents = []
    for start in tqdm(range(0, len(scenes), 64), desc="encoding", unit="batch"):
        images = to_tensor([render(scene, models.IMAGE_SIZE) for scene in scenes[start:start + 64]]).to(device)
        latents.append(vae.encode(images).latent_dist.mean.cpu() * models.VAE_SCALING_FACTOR)
    data = dict(latents=torch.cat(latents), scenes=scenes)
    save_state(path, data)
    record_time(args.work, "encoding", time.time() - started)
    return data


# ------------------------------------------------------------------ stage 3: text encoder + UNet

class CaptionTokens:
    """Token ids for captions, padded to 77 with the end token as SD1 does; cached per caption."""

    def __init__(self):
        from engine.text.tokenizer import clip_tokenizer

        self.tokenizer = clip_tokenizer()
        self.cache: dict[str, torch.Tensor] = {}

    def __call__(self, captions: list[str]) -> torch.Tensor:
        for text in captions:
            if text not in self.cache:
                self.cache[text] = self.tokenizer(text, padding="max_length", max_length=77, truncation=True,
                                                  return_tensors="pt").input_ids[0]
        return torch.stack([self.cache[text] for text in captions])


def train_diffusion(args, data, device):
    from diffusers import DDPMScheduler

    unet = models.build_unet(args.seed + 4).to(device)
    text_encoder = models.build_text_encoder(args.seed + 5).to(device)
    parameters = list(unet.parameters()) + list(text_encoder.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=6e-4, betas=(0.9, 0.99), weight_decay=0.01)
    ema_unet, ema_text = copy.deepcopy(unet).eval(), copy.deepcopy(text_encoder).eval()
    schedule = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                             num_train_timesteps=1000)
    alphas = schedule.alphas_cumprod.to(device)
    tokens = CaptionTokens()
    rng = random.Random(args.seed + 6)
    step = 0
    resume = load_state(args.work / "diffusion.pt")
    if resume:
        unet.load_state_dict(resume["unet"])
        text_encoder.load_state_dict(resume["text_encoder"])
        ema_unet.load_state_dict(resume["ema_unet"])
        ema_text.load_state_dict(resume["ema_text"])
        optimizer.load_state_dict(resume["optimizer"])
        rng.setstate(resume["rng"])
        torch.set_rng_state(resume["torch_rng"])
        step = resume["step"]
    lengths = cycles(args.unet_cycles)
    total = sum(lengths)
    if step >= total:
        return ema_unet, ema_text
    latents_all, scenes = data["latents"], data["scenes"]
    started, pending = time.time(), []
    bar = tqdm(total=total, initial=step, desc="diffusion", unit="step")
    unet.train()
    text_encoder.train()
    while step < total:
        for group in optimizer.param_groups:
            group["lr"] = cyclic_lr(step, lengths, 6e-4)
        picks = [rng.randrange(len(scenes)) for _ in range(args.unet_batch)]
        captions = ["" if rng.random() < 0.1 else caption(scenes[i], rng) for i in picks]
        latents = latents_all[picks].to(device)
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, 1000, (len(picks),), device=device)
        noisy = schedule.add_noise(latents, noise, timesteps)
        context = text_encoder(tokens(captions).to(device))[0]
        predicted = unet(noisy, timesteps, context).sample
        snr = alphas[timesteps] / (1 - alphas[timesteps])
        weight = torch.clamp(snr, max=5.0) / snr
        if step >= args.high_noise_from:
            # Where a shape goes is decided at the noisiest steps, where an epsilon loss
            # barely sees the picture (its error is sqrt(SNR) x the picture's error):
            # weigh those steps towards a picture-space loss, up to --high-noise-cap.
            weight = weight * torch.clamp(1 / snr, min=1.0, max=args.high_noise_cap)
        loss = (weight * (predicted - noise).pow(2).mean(dim=(1, 2, 3))).mean()
        optimise(optimizer, loss, parameters)
        step += 1
        update_ema(ema_unet, unet, step)
        update_ema(ema_text, text_encoder, step)
        pending.append((step, loss.item()))
        bar.update(1)
        bar.set_postfix(loss=f"{pending[-1][1]:.4f}")
        if step % args.save_every == 0 or step == total:
            log_losses(args.work / "losses_diffusion.csv", pending)
            pending = []
            save_state(args.work / "diffusion.pt", dict(
                unet=unet.state_dict(), text_encoder=text_encoder.state_dict(), ema_unet=ema_unet.state_dict(),
                ema_text=ema_text.state_dict(), optimizer=optimizer.state_dict(), rng=rng.getstate(),
                torch_rng=torch.get_rng_state(), step=step))
            record_time(args.work, "diffusion", time.time() - started)
            started = time.time()
    bar.close()
    return ema_unet, ema_text


@torch.no_grad()
def update_ema(average, model, step: int, decay: float = 0.999) -> None:
    rate = min(decay, (1 + step) / (10 + step))
    for kept, current in zip(average.parameters(), model.parameters()):
        kept.lerp_(current, 1 - rate)


# ------------------------------------------------------------------ stage 4: decoder

def finetune_decoder(args, vae, device):
    """Sharpen the decoder on whole pictures; the encoder (and so the latent space) stays fixed."""
    final = args.work / "decoder_final.pt"
    if final.exists():
        vae.load_state_dict(torch.load(final, map_location=device))
        return vae
    trained = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    vae.requires_grad_(False)
    for parameter in trained:
        parameter.requires_grad_(True)
    optimizer = torch.optim.AdamW(trained, lr=3e-4, weight_decay=0.0)
    rng = random.Random(args.seed + 7)
    step = 0
    resume = load_state(args.work / "decoder.pt")
    if resume:
        vae.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        rng.setstate(resume["rng"])
        step = resume["step"]
    excluded = held_out()
    started, pending = time.time(), []
    bar = tqdm(total=args.decoder_steps, initial=step, desc="decoder", unit="step")
    while step < args.decoder_steps:
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, args.decoder_steps, 3e-4, warmup=50)
        scenes = [random_scene(rng, excluded) for _ in range(args.decoder_batch)]
        images = to_tensor([render(scene, models.IMAGE_SIZE) for scene in scenes]).to(device)
        with torch.no_grad():
            latents = vae.encode(images).latent_dist.mean
        decoded = vae.decode(latents).sample
        loss = pixel_loss(decoded, images)
        optimise(optimizer, loss, trained)
        step += 1
        pending.append((step, loss.item()))
        bar.update(1)
        bar.set_postfix(loss=f"{pending[-1][1]:.4f}")
        if step % args.save_every == 0 or step == args.decoder_steps:
            log_losses(args.work / "losses_decoder.csv", pending)
            pending = []
            save_state(args.work / "decoder.pt", dict(model=vae.state_dict(), optimizer=optimizer.state_dict(),
                                                     rng=rng.getstate(), step=step))
            record_time(args.work, "decoder", time.time() - started)
            started = time.time()
    bar.close()
    torch.save(vae.state_dict(), final)
    return vae


# ------------------------------------------------------------------ export

def export(args, unet, vae, text_encoder) -> None:
    from safetensors.torch import save_file

    from engine.ldm_export import sd1_state_dict

    state = sd1_state_dict(copy.deepcopy(unet).cpu().half(), copy.deepcopy(vae).cpu().half(),
                           copy.deepcopy(text_encoder).cpu().half())
    metadata = {
        "modelspec.title": "Loom demo (shapes, SD1.x layout)",
        "modelspec.architecture": "stable-diffusion-v1",
        "modelspec.resolution": f"{models.IMAGE_SIZE}x{models.IMAGE_SIZE}",
        "modelspec.prediction_type": "epsilon",
        "loom.training": json.dumps({k: str(v) for k, v in vars(args).items() if k not in ("work", "out", "plot")}),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in state.items()}, str(temporary), metadata=metadata)
    temporary.replace(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


def main(argv=None) -> None:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    vae = train_autoencoder(args, device)
    data = encode_training_set(args, vae, device)
    unet, text_encoder = train_diffusion(args, data, device)
    vae = finetune_decoder(args, vae, device)
    export(args, unet, vae, text_encoder)
    from demo.plot import plot_losses

    plot_losses(args.work, args.plot)
    print(json.dumps(json.loads((args.work / "times.json").read_text()), indent=2))


if __name__ == "__main__":
    main()
