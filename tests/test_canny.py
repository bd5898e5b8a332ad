"""Canny: the node's edge map equals OpenCV's Canny run by hand with the documented scaling.

Scaling (engine/canny.py): grey 8-bit picture, 5x5 Gaussian blur with sigma 1,
cv2.Canny with thresholds x 255 and the L2 gradient, as kornia's canny in ComfyUI.
"""
import cv2
import numpy as np
import pytest
import torch

from nodes.preprocessors import Canny


def _picture(seed=3, size=(2, 96, 128)):
    """Blocky shapes with hard edges: a batch [B,H,W,3] in 0..1."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(size[0], 3, size[1] // 16, size[2] // 16, generator=generator)
    return torch.nn.functional.interpolate(coarse, size=size[1:], mode="nearest").permute(0, 2, 3, 1)


def _opencv_by_hand(image, low, high):
    rgb = (image.numpy() * 255.0).round().astype(np.uint8)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    blurred = cv2.GaussianBlur(gray, (5, 5), 1.0)
    return cv2.Canny(blurred, low * 255.0, high * 255.0, L2gradient=True)


@pytest.mark.parametrize("low, high", [(0.4, 0.8), (0.1, 0.2), (0.05, 0.6)])
def test_canny_equals_opencv(low, high):
    images = _picture()
    (edges,) = Canny().detect_edge(images, low, high)
    assert edges.shape == (2, 96, 128, 3) and edges.dtype == torch.float32
    assert torch.equal(edges[..., 0], edges[..., 1]) and torch.equal(edges[..., 0], edges[..., 2])
    for index in range(2):
        expected = _opencv_by_hand(images[index], low, high)
        assert expected.any()  # the picture has edges at these thresholds
        assert np.array_equal(edges[index, ..., 0].numpy(), expected.astype(np.float32) / 255.0)


def test_thresholds_change_the_edges():
    images = _picture()
    low = Canny().detect_edge(images, 0.05, 0.1)[0]
    high = Canny().detect_edge(images, 0.6, 0.9)[0]
    assert low.sum() > high.sum()
    assert set(torch.unique(low).tolist()) <= {0.0, 1.0}


def test_greyscale_and_alpha_images():
    images = _picture(size=(1, 64, 64))
    rgba = torch.cat([images, torch.ones(1, 64, 64, 1)], dim=-1)
    assert torch.equal(Canny().detect_edge(rgba, 0.2, 0.4)[0], Canny().detect_edge(images, 0.2, 0.4)[0])


@pytest.mark.parametrize("image, low, high, message", [
    (torch.zeros(64, 64, 3), 0.4, 0.8, "image:"),
    (torch.zeros(1, 64, 64, 2), 0.4, 0.8, "image:"),
    (torch.zeros(0, 64, 64, 3), 0.4, 0.8, "image:"),
    (torch.zeros(1, 64, 64, 3), 0.8, 0.4, "low_threshold"),
    (torch.zeros(1, 64, 64, 3), 0.4, 1.5, "high_threshold"),
])
def test_bad_input_names_the_input(image, low, high, message):
    with pytest.raises(ValueError, match=message):
        Canny().detect_edge(image, low, high)


def test_schema_follows_comfyui():
    required = Canny.INPUT_TYPES()["required"]
    assert list(required) == ["image", "low_threshold", "high_threshold"]
    low = dict(required["low_threshold"][1])
    assert low.pop("tooltip") and low == {"min": 0.01, "max": 0.99, "step": 0.01, "default": 0.4}
    assert required["high_threshold"][1]["default"] == 0.8
    assert Canny.RETURN_TYPES == ("IMAGE",) and Canny.CATEGORY == "image/preprocessors"
