"""Read back what a demo image shows by plain pixel analysis: colour, position and shape.

- background: the median colour of the image's border;
- foreground: the largest connected region whose colour is far from the background;
- colour: the foreground's mean hue, matched to the nearest of the eight named hues;
- position: the foreground's centroid, in thirds of the image;
- shape: the drawn outline of each shape stretched over the foreground's bounding
  box, the one with the highest overlap (intersection over union) wins.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import cv2
import numpy as np

from demo.render import shape_mask
from demo.scenes import COLOURS, COLUMNS, ROWS, SHAPES

BORDER = 4
MIN_DISTANCE = 60.0  # RGB distance from the background that counts as foreground


@dataclass
class Reading:
    colour: str | None
    position: tuple[str, str] | None
    shape: str | None
    area: float  # foreground fraction of the image


def hue(rgb) -> float:
    r, g, b = (float(c) / 255 for c in rgb)
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360


HUES = {name: hue(rgb) for name, rgb in COLOURS.items()}


def nearest_colour(degrees: float) -> str:
    return min(HUES, key=lambda name: min(abs(HUES[name] - degrees), 360 - abs(HUES[name] - degrees)))


def foreground_mask(image: np.ndarray) -> np.ndarray:
    """The largest region far from the border's colour, as a boolean mask."""
    pixels = image.astype(np.float32)
    border = np.concatenate([pixels[:BORDER].reshape(-1, 3), pixels[-BORDER:].reshape(-1, 3),
                             pixels[:, :BORDER].reshape(-1, 3), pixels[:, -BORDER:].reshape(-1, 3)])
    background = np.median(border, axis=0)
    far = np.linalg.norm(pixels - background, axis=2) > MIN_DISTANCE
    count, labels, stats, _ = cv2.connectedComponentsWithStats(far.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros(far.shape, dtype=bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == largest


def mean_hue(pixels: np.ndarray) -> float:
    """Circular mean hue (degrees) of RGB pixels [N, 3] in 0..255."""
    hsv = cv2.cvtColor(pixels.reshape(-1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3)
    angles = hsv[:, 0].astype(np.float64) / 256 * 2 * np.pi
    weights = hsv[:, 1].astype(np.float64) + 1e-3  # saturated pixels count more
    return float(np.degrees(np.arctan2((np.sin(angles) * weights).sum(), (np.cos(angles) * weights).sum())) % 360)


def best_shape(mask: np.ndarray) -> str:
    ys, xs = np.nonzero(mask)
    box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    scores = {}
    for shape in SHAPES:
        template = shape_mask(shape, box, mask.shape[0])
        union = np.logical_or(template, mask).sum()
        scores[shape] = np.logical_and(template, mask).sum() / max(1, union)
    return max(scores, key=scores.get)


def read_image(image) -> Reading:
    """What a generated image shows; `image` is a PIL image or an RGB uint8 array [H, W, 3]."""
    pixels = np.asarray(image)[..., :3]
    mask = foreground_mask(pixels)
    area = float(mask.mean())
    if mask.sum() < 12:
        return Reading(None, None, None, area)
    colour = nearest_colour(mean_hue(pixels[mask]))
    ys, xs = np.nonzero(mask)
    height, width = mask.shape
    row = ROWS[min(2, int(ys.mean() / height * 3))]
    column = COLUMNS[min(2, int(xs.mean() / width * 3))]
    return Reading(colour, (row, column), best_shape(mask), area)
