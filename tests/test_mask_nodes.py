"""Mask nodes and alpha join/split: hand-computed cases and bad inputs that name the input."""
import re

import pytest
import torch

from graph.executor import CacheConfig, PromptExecutor
from graph.validate import validate_prompt
from nodes import masks
from nodes.image_alpha import JoinImageWithAlpha, SplitImageWithAlpha
from nodes.masks import (CropMask, FeatherMask, GrowMask, ImageToMask, InvertMask, MaskComposite, MaskPreview,
                         MaskToImage, SolidMask, ThresholdMask)


def dot(size=5, y=2, x=2):
    mask = torch.zeros(1, size, size)
    mask[0, y, x] = 1.0
    return mask


def test_image_to_mask_and_back():
    image = torch.rand(2, 3, 4, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ImageToMask().image_to_mask(image, "green")[0], image[..., 1])
    mask = torch.tensor([[[0.0, 0.25], [0.5, 1.0]]])
    as_image = MaskToImage().mask_to_image(mask)[0]
    assert as_image.shape == (1, 2, 2, 3) and torch.equal(as_image[..., 2], mask)
    assert MaskToImage().mask_to_image(mask[0])[0].shape == (1, 2, 2, 3)   # [H,W] is accepted


def test_invert_solid_threshold():
    mask = torch.tensor([[[0.0, 0.25], [0.5, 1.0]]])
    assert torch.equal(InvertMask().invert(mask)[0], torch.tensor([[[1.0, 0.75], [0.5, 0.0]]]))
    assert torch.equal(SolidMask().solid(0.25, 3, 2)[0], torch.full((1, 2, 3), 0.25))
    assert torch.equal(ThresholdMask().image_to_mask(mask, 0.25)[0], torch.tensor([[[0.0, 0.0], [1.0, 1.0]]]))


def test_crop_mask():
    mask = torch.arange(20, dtype=torch.float32).reshape(1, 4, 5) / 20
    assert torch.equal(CropMask().crop(mask, 1, 2, 3, 5)[0], mask[:, 2:4, 1:4])


def test_feather_mask_linear_ramps():
    out = FeatherMask().feather(torch.ones(1, 4, 6), 3, 0, 2, 1)[0]
    # columns: left 1/3, 2/3, then 1; right 1/2 at the edge; rows: bottom=1 weighs the last row 1/1
    expected_columns = torch.tensor([1 / 3, 2 / 3, 1.0, 1.0, 1.0, 0.5])
    assert torch.allclose(out[0, 0], expected_columns, atol=1e-6)
    assert torch.allclose(out[0, 3], expected_columns, atol=1e-6)   # bottom=1: the last row keeps 1/1
    out = FeatherMask().feather(torch.ones(1, 4, 2), 0, 2, 0, 0)[0]
    assert torch.allclose(out[0, :, 0], torch.tensor([0.5, 1.0, 1.0, 1.0]))


def test_grow_mask_cross_and_square_and_shrink():
    grown = GrowMask().expand_mask(dot(), 1, True)[0][0]
    cross = torch.tensor([[0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]],
                         dtype=torch.float32)
    assert torch.equal(grown, cross)
    square = GrowMask().expand_mask(dot(), 1, False)[0][0]
    assert square.sum() == 9 and square[1:4, 1:4].min() == 1
    assert torch.equal(GrowMask().expand_mask(cross[None], -1, True)[0][0], dot()[0])
    diamond = GrowMask().expand_mask(dot(7, 3, 3), 2, True)[0][0]
    assert diamond.sum() == 13 and diamond[3, 1] == 1 and diamond[1, 1] == 0   # |dy| + |dx| <= 2


@pytest.mark.parametrize("operation, expected", [
    ("multiply", [[0.6, 0.0], [1.0, 1.0]]), ("add", [[1.0, 0.4], [1.0, 1.0]]),
    ("subtract", [[0.0, 0.0], [1.0, 1.0]]), ("and", [[1.0, 0.0], [1.0, 1.0]]),
    ("or", [[1.0, 0.0], [1.0, 1.0]]), ("xor", [[0.0, 0.0], [1.0, 1.0]]),
])
def test_mask_composite(operation, expected):
    destination = torch.tensor([[[0.6, 0.0], [1.0, 1.0]]])
    source = torch.tensor([[[1.0, 0.4]]])   # 1 row x 2 columns, placed at (0, 0); 0.4 counts as unset
    assert torch.allclose(MaskComposite().combine(destination, source, 0, 0, operation)[0],
                          torch.tensor([expected]))


def test_mask_composite_offset_is_clipped():
    out = MaskComposite().combine(torch.zeros(1, 3, 3), torch.ones(1, 2, 2), 2, 1, "add")[0]
    expected = torch.zeros(1, 3, 3)
    expected[0, 1:3, 2] = 1
    assert torch.equal(out, expected)


def test_join_and_split_alpha_round_trip():
    image = torch.rand(2, 4, 4, 3, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(1, 2, 2)
    mask[0, 0, 0] = 1.0
    joined = JoinImageWithAlpha().join_image_with_alpha(image, mask)[0]
    assert joined.shape == (2, 4, 4, 4) and torch.equal(joined[..., :3], image)
    assert joined[0, 0, 0, 3] < 1 and joined[1, 3, 3, 3] == 1      # alpha = 1 - (resized) mask
    rgb, back = SplitImageWithAlpha().split_image_with_alpha(joined)
    assert torch.equal(rgb, image) and torch.allclose(back, 1 - joined[..., 3])
    _, none = SplitImageWithAlpha().split_image_with_alpha(image)
    assert torch.equal(none, torch.zeros(2, 4, 4))


def test_mask_preview_in_a_graph(tmp_folders):
    classes = dict(masks.NODE_CLASS_MAPPINGS)
    prompt = {"1": {"class_type": "SolidMask", "inputs": {"value": 0.5, "width": 8, "height": 4}},
              "2": {"class_type": "MaskPreview", "inputs": {"mask": ["1", 0]}}}
    checked = validate_prompt(prompt, classes)
    assert checked.ok, checked.node_errors
    result = PromptExecutor(classes, cache=CacheConfig(policy="none")).execute(
        checked.prompt, "p", {}, checked.outputs)
    assert result.status_str == "success", result.error
    saved = result.outputs["2"]["images"][0]
    assert saved["type"] == "temp" and (tmp_folders.temp_dir / saved["subfolder"] / saved["filename"]).is_file()
    bad = validate_prompt({**prompt, "1": {"class_type": "SolidMask",
                                           "inputs": {"value": 2.0, "width": 8, "height": 4}}}, classes)
    assert not bad.ok and bad.node_errors["1"]["errors"][0]["extra_info"]["input_name"] == "value"


@pytest.mark.parametrize("call, name", [
    (lambda: ImageToMask().image_to_mask(torch.zeros(1, 2, 2, 3), "alpha"), "channel"),
    (lambda: ImageToMask().image_to_mask(torch.zeros(1, 2, 2, 3), "cyan"), "channel"),
    (lambda: MaskToImage().mask_to_image(torch.zeros(1, 2, 2, 3, 1)), "mask"),
    (lambda: InvertMask().invert("mask"), "mask"),
    (lambda: SolidMask().solid(1.5, 4, 4), "value"),
    (lambda: SolidMask().solid(1.0, 0, 4), "width"),
    (lambda: CropMask().crop(torch.zeros(1, 4, 4), 9, 0, 2, 2), "x"),
    (lambda: FeatherMask().feather(torch.zeros(1, 4, 4), -1, 0, 0, 0), "left"),
    (lambda: GrowMask().expand_mask(torch.zeros(1, 4, 4), 1.5, True), "expand"),
    (lambda: ThresholdMask().image_to_mask(torch.zeros(1, 4, 4), -0.1), "value"),
    (lambda: MaskComposite().combine(torch.zeros(2, 4, 4), torch.zeros(3, 4, 4), 0, 0, "add"), "source"),
    (lambda: MaskComposite().combine(torch.zeros(1, 4, 4), torch.zeros(1, 4, 4), 0, 0, "nand"), "operation"),
    (lambda: MaskComposite().combine(None, torch.zeros(1, 4, 4), 0, 0, "add"), "destination"),
    (lambda: JoinImageWithAlpha().join_image_with_alpha(torch.zeros(2, 4, 4, 3), torch.zeros(3, 4, 4)), "alpha"),
    (lambda: SplitImageWithAlpha().split_image_with_alpha(torch.zeros(4, 4)), "image"),
])
def test_bad_input_names_the_input(call, name):
    with pytest.raises(ValueError, match=f"^{re.escape(name)}: "):
        call()
