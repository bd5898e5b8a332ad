"""Image utility nodes: sizes, crops, batches, stitching, compare, filters, resizing and
SaveImageAdvanced, each against a hand-computed case or the library call it wraps."""
import json
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from nodes.image_filters import ImageBlend, ImageBlur, ImageQuantize, ImageSharpen
from nodes.image_resize import (ImageScaleToMaxDimension, ImageScaleToTotalPixels, ResizeAndPadImage,
                                ResizeImageMaskNode)
from nodes.image_save import SaveImageAdvanced
from nodes.image_tools import (BatchImagesNode, GetImageSize, ImageCompare, ImageCrop, ImageFromBatch,
                               ImageStitch)


def solid(rgb, height=2, width=2, batch=1):
    return torch.tensor(rgb, dtype=torch.float32).expand(batch, height, width, len(rgb)).clone()


def ramp(batch=1, height=6, width=8):
    """A recognisable image: value = (b*100 + y*10 + x) / 1000 in every channel."""
    b, y, x = torch.meshgrid(torch.arange(batch), torch.arange(height), torch.arange(width), indexing="ij")
    return ((b * 100 + y * 10 + x).float() / 1000)[..., None].expand(batch, height, width, 3).clone()


def test_get_image_size():
    assert GetImageSize().execute(ramp(3, 6, 8)) == (8, 6, 3)


def test_image_crop_and_clamped_corner():
    image = ramp()
    assert torch.equal(ImageCrop().crop(image, 3, 2, 4, 1)[0], image[:, 1:3, 4:7])
    # x beyond the image moves to the last column; the rectangle stops at the edge
    assert ImageCrop().crop(image, 5, 5, 50, 0)[0].shape == (1, 5, 1, 3)


def test_image_from_batch_clamps():
    image = ramp(batch=4)
    assert torch.equal(ImageFromBatch().frombatch(image, 1, 2)[0], image[1:3])
    assert torch.equal(ImageFromBatch().frombatch(image, 9, 3)[0], image[3:4])


def test_batch_images_resizes_to_the_first():
    first, second = ramp(1, 6, 8), solid([0.2, 0.4, 0.6], 3, 4, batch=2)
    out = BatchImagesNode().execute(**{"images.image0": first, "images.image1": second})[0]
    assert out.shape == (3, 6, 8, 3)
    assert torch.equal(out[0], first[0]) and torch.allclose(out[1:], solid([0.2, 0.4, 0.6], 6, 8, 2))


def test_stitch_with_spacing_and_directions():
    red, blue = solid([1, 0, 0]), solid([0, 0, 1])
    out = ImageStitch().stitch(red, "right", True, 2, "white", blue)[0]
    assert out.shape == (1, 2, 6, 3)
    assert torch.equal(out[0, :, :2], red[0]) and torch.equal(out[0, :, 2:4], torch.ones(2, 2, 3))
    assert torch.equal(out[0, :, 4:], blue[0])
    up = ImageStitch().stitch(red, "up", False, 0, "black", blue)[0]
    assert up.shape == (1, 4, 2, 3) and torch.equal(up[0, :2], blue[0])
    assert ImageStitch().stitch(red, "left", True, 0, "white", None)[0] is red


def test_stitch_matches_or_pads_sizes():
    small, big = solid([1, 0, 0], 2, 2), solid([0, 1, 0], 4, 6)
    matched = ImageStitch().stitch(small, "right", True, 0, "white", big)[0]
    assert matched.shape == (1, 2, 5, 3)          # 4x6 scaled to height 2 -> width 3
    padded = ImageStitch().stitch(small, "right", False, 0, "white", big)[0]
    assert padded.shape == (1, 4, 8, 3)
    assert torch.equal(padded[0, 0, :2], torch.zeros(2, 3)) and torch.equal(padded[0, 1, :2], small[0, 0])


def test_image_compare_writes_both_sides(tmp_folders):
    ui = ImageCompare().compare(solid([1, 0, 0]), solid([0, 0, 1], batch=2))["ui"]
    assert len(ui["a_images"]) == 1 and len(ui["b_images"]) == 2
    for item in ui["a_images"] + ui["b_images"]:
        assert item["type"] == "temp" and (tmp_folders.temp_dir / item["subfolder"] / item["filename"]).is_file()
    assert ImageCompare().compare(None, None)["ui"] == {"a_images": [], "b_images": []}


@pytest.mark.parametrize("mode, expected", [
    ("normal", 0.5 * 0.2 + 0.5 * 0.6), ("multiply", 0.5 * 0.2 + 0.5 * 0.12),
    ("screen", 0.5 * 0.2 + 0.5 * (1 - 0.8 * 0.4)), ("overlay", 0.5 * 0.2 + 0.5 * (2 * 0.2 * 0.6)),
    ("soft_light", 0.5 * 0.2 + 0.5 * (0.2 + 0.2 * (((16 * 0.2 - 12) * 0.2 + 4) * 0.2 - 0.2))),
    ("difference", 0.5 * 0.2 + 0.5 * (0.2 - 0.6)),  # clamped only at the end: -0.1 -> 0
])
def test_blend_modes(mode, expected):
    out = ImageBlend().blend_images(solid([0.2] * 3), solid([0.6] * 3), 0.5, mode)[0]
    assert torch.allclose(out, torch.full_like(out, max(expected, 0.0)), atol=1e-6)


def _reference_kernel(radius, sigma):
    """ComfyUI's kernel, built independently with torch: exp(-d^2/2s^2) on a [-1,1] grid."""
    t = torch.linspace(-1, 1, 2 * radius + 1)
    y, x = torch.meshgrid(t, t, indexing="ij")
    kernel = torch.exp(-(x * x + y * y) / (2 * sigma * sigma))
    return kernel / kernel.sum()


def _reference_filter(image, kernel):
    radius = kernel.shape[0] // 2
    channels = image.shape[-1]
    x = F.pad(image.permute(0, 3, 1, 2), (radius,) * 4, mode="reflect")
    return F.conv2d(x, kernel.expand(channels, 1, *kernel.shape), groups=channels).permute(0, 2, 3, 1)


def test_blur_matches_a_torch_convolution():
    image = torch.rand(2, 9, 11, 3, generator=torch.Generator().manual_seed(1))
    out = ImageBlur().blur(image, 2, 0.7)[0]
    assert torch.allclose(out, _reference_filter(image, _reference_kernel(2, 0.7)), atol=1e-5)


def test_sharpen_matches_a_torch_convolution_and_keeps_flat_areas():
    image = torch.rand(1, 9, 11, 3, generator=torch.Generator().manual_seed(2))
    kernel = _reference_kernel(1, 1.0) * -(0.5 * 10)
    kernel[1, 1] += 1.0 - kernel.sum()
    out = ImageSharpen().sharpen(image, 1, 1.0, 0.5)[0]
    assert torch.allclose(out, _reference_filter(image, kernel).clamp(0, 1), atol=1e-5)
    flat = solid([0.3, 0.5, 0.7], 5, 5)
    assert torch.allclose(ImageSharpen().sharpen(flat, 2, 1.0, 2.0)[0], flat, atol=1e-5)


def test_quantize_matches_pillow():
    image = torch.rand(1, 16, 16, 3, generator=torch.Generator().manual_seed(3))
    out = ImageQuantize().quantize(image, 4, "none")[0]
    pil = Image.fromarray((image[0].numpy() * 255).astype(np.uint8))
    expected = pil.quantize(palette=pil.quantize(colors=4, dither=Image.Dither.NONE), dither=Image.Dither.NONE)
    assert np.array_equal((out[0].numpy() * 255).round().astype(np.uint8), np.asarray(expected.convert("RGB")))
    # bayer-4: the classic 4x4 Bayer pattern [[0,8,2,10],[12,4,14,6],[3,11,1,9],[15,7,13,5]] as offsets
    bayer = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]])
    palette = pil.quantize(colors=4, dither=Image.Dither.NONE)
    spread = 2 * 256 / (len(palette.getpalette()) // 3)
    offsets = np.tile(spread * ((bayer + 0.5) / 16 - 0.5) + 0.5, (4, 4))[..., None]
    shifted = Image.fromarray(np.clip(np.asarray(pil) + offsets, 0, 255).astype(np.uint8))
    expected = shifted.quantize(palette=palette, dither=Image.Dither.NONE).convert("RGB")
    out = ImageQuantize().quantize(image, 4, "bayer-4")[0]
    assert np.array_equal((out[0].numpy() * 255).round().astype(np.uint8), np.asarray(expected))
    for dither in ("floyd-steinberg", "bayer-4"):
        colours = ImageQuantize().quantize(image, 4, dither)[0].reshape(-1, 3).unique(dim=0)
        assert len(colours) <= 4


def test_scale_to_total_pixels_and_max_dimension():
    image = ramp(1, 32, 64)
    # 0.01 MP = 10485.76 px; scale sqrt(10485.76 / 2048) = 2.2627 -> 144.8 x 72.4
    assert ImageScaleToTotalPixels().upscale(image, "bilinear", 0.01, 1)[0].shape == (1, 72, 145, 3)
    assert ImageScaleToTotalPixels().upscale(image, "bilinear", 0.01, 8)[0].shape == (1, 72, 144, 3)
    assert ImageScaleToMaxDimension().upscale(image, "area", 16)[0].shape == (1, 8, 16, 3)
    tall = ramp(1, 30, 10)
    assert ImageScaleToMaxDimension().upscale(tall, "nearest-exact", 12)[0].shape == (1, 12, 4, 3)


def test_resize_and_pad_centres_the_image():
    image = solid([0.0, 0.0, 0.0], 2, 4)  # 4 wide, 2 high
    out = ResizeAndPadImage().resize_and_pad(image, 8, 8, "white", "nearest-exact")[0]
    assert out.shape == (1, 8, 8, 3)
    assert torch.equal(out[0, 2:6], torch.zeros(4, 8, 3))
    assert torch.equal(out[0, :2], torch.ones(2, 8, 3)) and torch.equal(out[0, 6:], torch.ones(2, 8, 3))


@pytest.mark.parametrize("kind, options, shape", [
    ("scale dimensions", {"resize_type.width": 4, "resize_type.height": 0}, (1, 3, 4, 3)),
    ("scale by multiplier", {"resize_type.multiplier": 0.5}, (1, 3, 4, 3)),
    ("scale longer dimension", {"resize_type.longer_size": 16}, (1, 12, 16, 3)),
    ("scale shorter dimension", {"resize_type.shorter_size": 3}, (1, 3, 4, 3)),
    ("scale width", {"resize_type.width": 16}, (1, 12, 16, 3)),
    ("scale height", {"resize_type.height": 12}, (1, 12, 16, 3)),
    ("match size", {"resize_type.match": torch.zeros(1, 5, 7)}, (1, 5, 7, 3)),
    ("scale to multiple", {"resize_type.multiple": 4}, (1, 8, 8, 3)),
])
def test_resize_image_mask_node(kind, options, shape):
    image = ramp(1, 6, 8)
    assert ResizeImageMaskNode().execute(image, kind, "bilinear", **options)[0].shape == shape
    mask = image[..., 0]
    assert ResizeImageMaskNode().execute(mask, kind, "bilinear", **options)[0].shape == shape[:3]


def _read_exif_prompt(path):
    with Image.open(path) as saved:
        return saved.getexif().get(0x0110)


def test_save_image_advanced_formats_and_metadata(tmp_folders):
    image = ramp(2, 6, 8)
    prompt, extra = {"1": {"class_type": "X", "inputs": {}}}, {"workflow": {"nodes": []}}
    node = SaveImageAdvanced()
    png = node.save_images(image, "adv", "png", 95, True, prompt, extra)["ui"]["images"]
    assert [item["filename"] for item in png] == ["adv_00001_.png", "adv_00002_.png"]
    with Image.open(tmp_folders.output_dir / "adv_00001_.png") as saved:
        assert json.loads(saved.text["prompt"]) == prompt and json.loads(saved.text["workflow"]) == extra["workflow"]
        assert np.array_equal(np.asarray(saved), (image[0].numpy() * 255).round().astype(np.uint8))
    jpeg = node.save_images(image[:1], "adv", "jpeg", 90, True, prompt, extra)["ui"]["images"][0]
    assert jpeg["filename"] == "adv_00003_.jpg"
    assert json.loads(_read_exif_prompt(tmp_folders.output_dir / jpeg["filename"]).removeprefix("prompt:")) == prompt
    bare = node.save_images(image[:1], "bare", "webp", 100, False, prompt, extra)["ui"]["images"][0]
    with Image.open(tmp_folders.output_dir / bare["filename"]) as saved:
        assert saved.format == "WEBP" and not saved.getexif()
        assert np.array_equal(np.asarray(saved.convert("RGB")), (image[0].numpy() * 255).round().astype(np.uint8))
    assert not list(tmp_folders.output_dir.glob(".*"))  # no temporary files left


@pytest.mark.parametrize("call, name", [
    (lambda: GetImageSize().execute(torch.zeros(4, 4)), "image"),
    (lambda: ImageCrop().crop(ramp(), 0, 2, 0, 0), "width"),
    (lambda: ImageCrop().crop(ramp(), 2, 2, -1, 0), "x"),
    (lambda: ImageFromBatch().frombatch(ramp(), "0", 1), "batch_index"),
    (lambda: BatchImagesNode().execute(**{"images.image0": ramp(), "images.image1": "x"}), "images.image1"),
    (lambda: ImageStitch().stitch(ramp(), "sideways", True, 0, "white", ramp()), "direction"),
    (lambda: ImageStitch().stitch(ramp(), "right", True, 0, "white", torch.zeros(3)), "image2"),
    (lambda: ImageCompare().compare(torch.zeros(2, 2)), "image_a"),
    (lambda: ImageBlend().blend_images(ramp(), ramp(), 1.5, "normal"), "blend_factor"),
    (lambda: ImageBlend().blend_images(ramp(2), ramp(3), 0.5, "normal"), "image2"),
    (lambda: ImageBlend().blend_images(ramp(), ramp(), 0.5, "burn"), "blend_mode"),
    (lambda: ImageBlur().blur(ramp(), 0, 1.0), "blur_radius"),
    (lambda: ImageBlur().blur(ramp(1, 3, 3), 5, 1.0), "blur_radius"),
    (lambda: ImageSharpen().sharpen(ramp(), 1, 1.0, 9.0), "alpha"),
    (lambda: ImageQuantize().quantize(ramp(), 0, "none"), "colors"),
    (lambda: ImageScaleToTotalPixels().upscale(ramp(), "bilinear", 0.0, 1), "megapixels"),
    (lambda: ImageScaleToMaxDimension().upscale(ramp(), "cubic", 16), "upscale_method"),
    (lambda: ResizeAndPadImage().resize_and_pad(ramp(), 8, 8, "grey", "area"), "padding_color"),
    (lambda: ResizeImageMaskNode().execute(ramp(), "match size", "area"), "resize_type.match"),
    (lambda: ResizeImageMaskNode().execute(ramp(), "scale by multiplier", "area",
                                           **{"resize_type.multiplier": 0}), "resize_type.multiplier"),
    (lambda: SaveImageAdvanced().save_images(ramp(), "x", "gif"), "format"),
    (lambda: SaveImageAdvanced().save_images(ramp(), "x", "png", 0), "quality"),
    (lambda: SaveImageAdvanced().save_images(ramp(), "../x", "png", 90), "filename_prefix"),
])
def test_bad_input_names_the_input(tmp_folders, call, name):
    with pytest.raises(ValueError, match=f"^{re.escape(name)}: "):
        call()
