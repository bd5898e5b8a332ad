"""LoadImage, LoadImageMask and the image transform nodes, with real files."""

import numpy as np
import pytest
import torch
from PIL import Image

from engine.images import resize
from nodes.image import (
    EmptyImage, ImageBatch, ImageInvert, ImagePadForOutpaint, ImageScale, ImageScaleBy,
    LoadImage, LoadImageMask,
)


@pytest.fixture
def dirs(tmp_folders):
    tmp_folders.input_dir.mkdir(parents=True)
    return tmp_folders


def _rgba_file(path, alpha_value=64):
    rgba = np.zeros((12, 20, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[..., 1] = np.arange(20, dtype=np.uint8)[None, :] * 10
    rgba[..., 2] = 30
    rgba[..., 3] = alpha_value
    rgba[:, :5, 3] = 255
    Image.fromarray(rgba, "RGBA").save(path)
    return rgba


def test_load_image_gives_rgb_and_mask_as_one_minus_alpha(dirs):
    rgba = _rgba_file(dirs.input_dir / "pic.png")
    image, mask = LoadImage().load_image("pic.png")
    assert image.shape == (1, 12, 20, 3) and mask.shape == (1, 12, 20)
    torch.testing.assert_close(image[0], torch.from_numpy(rgba[..., :3].astype(np.float32) / 255))
    assert mask[0, 0, 0].item() == 0.0  # opaque -> not masked
    assert mask[0, 0, 10].item() == pytest.approx(1 - 64 / 255)


def test_load_image_without_alpha_has_an_empty_mask(dirs):
    Image.new("RGB", (8, 6), (10, 20, 30)).save(dirs.input_dir / "plain.jpg")
    image, mask = LoadImage().load_image("plain.jpg")
    assert image.shape == (1, 6, 8, 3)
    assert mask.shape == (1, 6, 8) and mask.abs().sum() == 0


def test_load_image_reads_every_frame_of_an_animation(dirs):
    frames = [Image.new("RGB", (10, 10), (value, 0, 0)) for value in (0, 120, 240)]
    frames[0].save(dirs.input_dir / "anim.gif", save_all=True, append_images=frames[1:])
    image, mask = LoadImage().load_image("anim.gif")
    assert image.shape == (3, 10, 10, 3) and mask.shape[0] == 3
    assert image[0, 0, 0, 0] < image[1, 0, 0, 0] < image[2, 0, 0, 0]


def test_load_image_applies_exif_orientation(dirs):
    pil = Image.new("RGB", (30, 10), (0, 0, 0))
    exif = pil.getexif()
    exif[0x0112] = 6  # rotate 90 degrees to display
    pil.save(dirs.input_dir / "rotated.jpg", exif=exif)
    image, _ = LoadImage().load_image("rotated.jpg")
    assert image.shape == (1, 30, 10, 3)


def test_a_file_that_is_not_an_image_is_a_clear_error(dirs):
    (dirs.input_dir / "x.png").write_text("not really a png")
    with pytest.raises(ValueError, match=r"image: 'x.png' is not a readable image"):
        LoadImage().load_image("x.png")


def test_validation_reports_missing_files_and_path_escapes(dirs):
    _rgba_file(dirs.input_dir / "ok.png")
    (dirs.base_dir / "secret.png").write_bytes(b"")
    assert LoadImage.VALIDATE_INPUTS("ok.png") is True
    assert LoadImage.VALIDATE_INPUTS("missing.png") == "Invalid image file: missing.png"
    assert LoadImage.VALIDATE_INPUTS("../secret.png") == "Invalid image file: ../secret.png"
    with pytest.raises(ValueError, match="image:"):
        LoadImage().load_image("../secret.png")


def test_combo_lists_input_images_with_upload_flag(dirs):
    _rgba_file(dirs.input_dir / "b.png")
    _rgba_file(dirs.input_dir / "a.png")
    (dirs.input_dir / "notes.txt").write_text("x")
    (dirs.input_dir / "sub").mkdir()
    files, options = LoadImage.INPUT_TYPES()["required"]["image"]
    assert files == ["a.png", "b.png"] and options["image_upload"] is True


def test_is_changed_follows_the_file_content(dirs):
    path = dirs.input_dir / "pic.png"
    _rgba_file(path, alpha_value=10)
    first = LoadImage.IS_CHANGED("pic.png")
    assert LoadImage.IS_CHANGED("pic.png") == first
    _rgba_file(path, alpha_value=200)
    assert LoadImage.IS_CHANGED("pic.png") != first


def test_annotated_output_files_can_be_loaded(dirs):
    dirs.output_dir.mkdir(parents=True)
    _rgba_file(dirs.output_dir / "made.png")
    image, _ = LoadImage().load_image("made.png [output]")
    assert image.shape == (1, 12, 20, 3)


@pytest.mark.parametrize("channel, expected", [
    ("red", lambda rgba: rgba[..., 0] / 255),
    ("green", lambda rgba: rgba[..., 1] / 255),
    ("alpha", lambda rgba: 1 - rgba[..., 3] / 255),
])
def test_load_image_mask_channels(dirs, channel, expected):
    rgba = _rgba_file(dirs.input_dir / "pic.png")
    (mask,) = LoadImageMask().load_image("pic.png", channel)
    assert mask.shape == (1, 12, 20)
    torch.testing.assert_close(mask[0], torch.from_numpy(expected(rgba.astype(np.float32))))


def test_load_image_mask_alpha_of_opaque_image_is_zero(dirs):
    Image.new("RGB", (8, 6), (200, 20, 30)).save(dirs.input_dir / "plain.png")
    (mask,) = LoadImageMask().load_image("plain.png", "alpha")
    assert mask.shape == (1, 6, 8) and mask.abs().sum() == 0
    (red,) = LoadImageMask().load_image("plain.png", "red")
    assert red[0, 0, 0].item() == pytest.approx(200 / 255)


# ---------------------------------------------------------------- transforms

def _image(batch=1, height=16, width=24):
    return torch.rand(batch, height, width, 3, generator=torch.Generator().manual_seed(height * width))


@pytest.mark.parametrize("method", ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"])
def test_image_scale_methods_give_the_asked_size(method):
    image = _image()
    before = image.clone()
    (out,) = ImageScale().upscale(image, method, 40, 20, "disabled")
    assert out.shape == (1, 20, 40, 3)
    assert torch.equal(image, before)
    # a flat image stays flat whatever the method
    flat = torch.full((1, 16, 24, 3), 0.25)
    (scaled,) = ImageScale().upscale(flat, method, 40, 20, "disabled")
    assert (scaled - 0.25).abs().max() < 1 / 255


def test_image_scale_zero_side_keeps_aspect_and_both_zero_keeps_size():
    image = _image(height=16, width=24)
    assert ImageScale().upscale(image, "bilinear", 0, 32, "disabled")[0].shape == (1, 32, 48, 3)
    assert ImageScale().upscale(image, "bilinear", 12, 0, "disabled")[0].shape == (1, 8, 12, 3)
    assert ImageScale().upscale(image, "bilinear", 0, 0, "disabled")[0].shape == image.shape


def test_center_crop_takes_the_middle_before_scaling():
    image = torch.zeros(1, 10, 30, 3)
    image[:, :, 10:20] = 1.0  # bright middle third
    (out,) = ImageScale().upscale(image, "nearest-exact", 10, 10, "center")
    assert out.shape == (1, 10, 10, 3) and out.min() == 1.0
    (squashed,) = ImageScale().upscale(image, "nearest-exact", 10, 10, "disabled")
    assert squashed.min() == 0.0


def test_image_scale_by():
    (out,) = ImageScaleBy().upscale(_image(height=16, width=24), "bicubic", 1.5)
    assert out.shape == (1, 24, 36, 3)


def test_nearest_exact_doubling_repeats_pixels():
    image = _image(height=4, width=4)
    (out,) = ImageScaleBy().upscale(image, "nearest-exact", 2.0)
    torch.testing.assert_close(out[:, ::2, ::2], image)
    torch.testing.assert_close(out[:, 1::2, 1::2], image)


def test_invert():
    image = _image()
    (out,) = ImageInvert().invert(image)
    torch.testing.assert_close(out + image, torch.ones_like(image))


def test_image_batch_resizes_the_second_to_the_first():
    first, second = _image(batch=2, height=16, width=24), _image(batch=1, height=32, width=48)
    (out,) = ImageBatch().batch(first, second)
    assert out.shape == (3, 16, 24, 3)
    torch.testing.assert_close(out[:2], first)
    expected = resize(second.movedim(-1, 1), 24, 16, "bilinear", "center").movedim(1, -1)
    torch.testing.assert_close(out[2:], expected)


def test_pad_for_outpaint_places_image_and_feathers_mask():
    image = _image(height=32, width=32)
    image_before = image.clone()
    padded, mask = ImagePadForOutpaint().expand_image(image, 8, 0, 16, 0, 4)
    assert padded.shape == (1, 32, 56, 3) and mask.shape == (1, 32, 56)
    assert torch.equal(image, image_before)
    torch.testing.assert_close(padded[:, :, 8:40], image)
    assert (padded[:, :, :8] == 0.5).all() and (padded[:, :, 40:] == 0.5).all()
    assert (mask[0, :, :8] == 1).all() and (mask[0, :, 40:] == 1).all()
    # inside: distance d from the left padded edge -> ((4 - d) / 4) ** 2 for d < 4
    row = mask[0, 10, 8:40]
    expected_left = torch.tensor([1.0, 0.5625, 0.25, 0.0625])
    torch.testing.assert_close(row[:4], expected_left)
    assert (row[4:28] == 0).all()
    # right side: distance is width - column, so 1..4 from the edge
    torch.testing.assert_close(row[-4:], torch.tensor([0.0, 0.0625, 0.25, 0.5625]))


def test_pad_without_feathering_has_a_hard_mask():
    padded, mask = ImagePadForOutpaint().expand_image(_image(height=8, width=8), 0, 8, 0, 0, 0)
    assert padded.shape == (1, 16, 8, 3)
    assert (mask[0, :8] == 1).all() and (mask[0, 8:] == 0).all()


def test_empty_image_color():
    (out,) = EmptyImage().generate(5, 4, 2, 0xFF8000)
    assert out.shape == (2, 4, 5, 3)
    torch.testing.assert_close(out[1, 3, 4], torch.tensor([1.0, 128 / 255, 0.0]))
