"""Draw the training loss curves (smoothed) as a PNG with PIL, without matplotlib."""
from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image, ImageDraw

WIDTH, HEIGHT, MARGIN = 640, 260, 40


def read_losses(path: Path) -> list[tuple[int, float]]:
    with open(path, newline="") as handle:
        return [(int(row["step"]), float(row["loss"])) for row in csv.DictReader(handle)]


def smooth(values: list[float], window: int = 50) -> list[float]:
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def panel(rows: list[tuple[int, float]], title: str) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    steps = [s for s, _ in rows]
    values = smooth([v for _, v in rows])
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    left, right, top, bottom = MARGIN, WIDTH - 10, 25, HEIGHT - MARGIN

    def point(step, value):
        x = left + (right - left) * (step - steps[0]) / max(1, steps[-1] - steps[0])
        return x, bottom - (bottom - top) * (value - low) / span

    draw.rectangle([left, top, right, bottom], outline="black")
    draw.line([point(s, v) for s, v in zip(steps, values)], fill=(40, 80, 220), width=2)
    draw.text((left, 5), f"{title}: loss (mean of 50 steps) {high:.4f} -> {values[-1]:.4f}", fill="black")
    draw.text((left, bottom + 5), f"step {steps[0]}", fill="black")
    draw.text((right - 70, bottom + 5), f"step {steps[-1]}", fill="black")
    return image


def plot_losses(work: Path, out: Path) -> None:
    panels = [panel(read_losses(work / f"losses_{stage}.csv"), stage)
              for stage in ("autoencoder", "diffusion", "decoder") if (work / f"losses_{stage}.csv").exists()]
    if not panels:
        return
    sheet = Image.new("RGB", (WIDTH, HEIGHT * len(panels)), "white")
    for i, image in enumerate(panels):
        sheet.paste(image, (0, i * HEIGHT))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
