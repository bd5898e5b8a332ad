"""Canny edge maps with OpenCV, scaled to follow ComfyUI's Canny node.

ComfyUI runs kornia's canny on 0..1 images: greyscale, 5x5 Gaussian blur
(sigma 1), unnormalised 3x3 Sobel, L2 gradient magnitude, hysteresis between
the two thresholds. OpenCV does the same steps on 8-bit images, so the
thresholds are multiplied by 255 (THRESHOLD_SCALE). Edges differ from kornia's
only where 8-bit rounding of the blurred picture moves a gradient across a
threshold.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

THRESHOLD_SCALE = 255.0
BLUR_KERNEL = (5, 5)
BLUR_SIGMA = 1.0


def to_gray_u8(image: torch.Tensor) -> np.ndarray:
    """One IMAGE [H,W,C] (C = 1, 3 or 4) as an 8-bit grey array [H,W]."""
    array = (image.detach().float().cpu().clamp(0, 1).numpy() * 255.0).round().astype(np.uint8)
    if array.shape[-1] == 1:
        return array[..., 0]
    return cv2.cvtColor(np.ascontiguousarray(array[..., :3]), cv2.COLOR_RGB2GRAY)


def canny_u8(gray: np.ndarray, low_threshold: float, high_threshold: float) -> np.ndarray:
    """Edge map (0 or 255, [H,W] uint8) of an 8-bit grey picture; thresholds in 0..1."""
    blurred = cv2.GaussianBlur(gray, BLUR_KERNEL, BLUR_SIGMA)
    return cv2.Canny(blurred, low_threshold * THRESHOLD_SCALE, high_threshold * THRESHOLD_SCALE,
                     L2gradient=True)


def canny_images(images: torch.Tensor, low_threshold: float, high_threshold: float,
                 progress=None) -> torch.Tensor:
    """IMAGE [B,H,W,C] -> edge IMAGE [B,H,W,3] with 1.0 on edges; progress(done, total) per image."""
    edges = []
    for index, image in enumerate(images):
        edge = canny_u8(to_gray_u8(image), low_threshold, high_threshold)
        edges.append(torch.from_numpy(edge.astype(np.float32) / 255.0))
        if progress is not None:
            progress(index + 1, len(images))
    return torch.stack(edges)[..., None].repeat(1, 1, 1, 3)
