"""Draw a demo scene as an RGB image (PIL), antialiased by drawing at 4x and shrinking."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from demo.scenes import BACKGROUND_COLOURS, COLOURS, GRID, SIZES, Scene

SUPERSAMPLE = 4


def shape_polygon(shape: str, cx: float, cy: float, radius: float) -> list[tuple[float, float]] | None:
    """The outline of `shape` centred at (cx, cy) fitting a circle of `radius`; None for a circle."""
    if shape == "circle":
        return None
    if shape == "square":
        r = radius * 0.86
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "diamond":
        return [(cx, cy - radius), (cx + radius, cy), (cx, cy + radius), (cx - radius, cy)]
    if shape == "triangle":
        # Point up; the base sits as low as the apex is high so the box is centred.
        return [(cx, cy - radius), (cx + radius, cy + radius * 0.85), (cx - radius, cy + radius * 0.85)]
    if shape == "star":
        points = []
        for k in range(10):
            r = radius if k % 2 == 0 else radius * 0.45
            angle = -math.pi / 2 + k * math.pi / 5
            points.append((cx + r * math.cos(angle), cy + r * math.sin(angle) + radius * 0.08))
        return points
    if shape == "cross":
        a, b = radius * 0.9, radius * 0.32
        return [(cx - b, cy - a), (cx + b, cy - a), (cx + b, cy - b), (cx + a, cy - b), (cx + a, cy + b),
                (cx + b, cy + b), (cx + b, cy + a), (cx - b, cy + a), (cx - b, cy + b), (cx - a, cy + b),
                (cx - a, cy - b), (cx - b, cy - b)]
    raise ValueError(f"unknown shape {shape!r}")


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, radius: float, fill) -> None:
    polygon = shape_polygon(shape, cx, cy, radius)
    if polygon is None:
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=fill)
    else:
        draw.polygon(polygon, fill=fill)


def background(scene: Scene, side: int) -> np.ndarray:
    """The background as a float array [side, side, 3] in 0..255."""
    first = np.array(BACKGROUND_COLOURS[scene.background_colours[0]], dtype=np.float32)
    if scene.background == "plain":
        return np.broadcast_to(first, (side, side, 3)).copy()
    second = np.array(BACKGROUND_COLOURS[scene.background_colours[1]], dtype=np.float32)
    if scene.background == "split":
        image = np.broadcast_to(first, (side, side, 3)).copy()
        if scene.vertical_split:
            image[:, side // 2:] = second
        else:
            image[side // 2:, :] = second
        return image
    t = np.linspace(0.0, 1.0, side, dtype=np.float32)[:, None, None]  # top to bottom
    return np.broadcast_to(first * (1 - t) + second * t, (side, side, 3)).copy()


def render(scene: Scene, size: int = 128) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.fromarray(background(scene, big).round().astype(np.uint8))
    row, column = scene.position
    cx = (GRID[column] + scene.jitter[0]) * big
    cy = (GRID[row] + scene.jitter[1]) * big
    draw_shape(ImageDraw.Draw(image), scene.shape, cx, cy, SIZES[scene.size] * big / 2, COLOURS[scene.colour])
    return image.resize((size, size), Image.Resampling.BOX)


def shape_mask(shape: str, box: tuple[float, float, float, float], size: int) -> np.ndarray:
    """A boolean mask of `shape` drawn to fill `box` (x0, y0, x1, y1) in a size x size image."""
    x0, y0, x1, y1 = box
    big = size * SUPERSAMPLE
    canvas = Image.new("L", (big, big), 0)
    # Draw at a reference size, then stretch the shape's own bounding box onto `box`.
    reference = Image.new("L", (400, 400), 0)
    draw_shape(ImageDraw.Draw(reference), shape, 200, 200, 180, 255)
    left, top, right, bottom = reference.getbbox()
    crop = reference.crop((left, top, right, bottom))
    width = max(1, round((x1 - x0) * SUPERSAMPLE))
    height = max(1, round((y1 - y0) * SUPERSAMPLE))
    canvas.paste(crop.resize((width, height), Image.Resampling.BILINEAR), (round(x0 * SUPERSAMPLE), round(y0 * SUPERSAMPLE)))
    return np.asarray(canvas.resize((size, size), Image.Resampling.BOX)) >= 128
