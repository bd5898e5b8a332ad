"""SaveAnimatedWEBP, SaveAnimatedPNG, SaveAnimatedGIF: frames, timing, embedded workflow, --disable-metadata."""
import json

import pytest
import torch
from PIL import Image, ImageSequence, PngImagePlugin

from cli.workflow_file import WorkflowFileError, read_workflow_file
from nodes.image_animated import SaveAnimatedGIF, SaveAnimatedPNG, SaveAnimatedWEBP

PROMPT = {"1": {"class_type": "EmptyLatentVideo", "inputs": {"width": 64}}}
WORKFLOW = {"nodes": [{"id": 1, "type": "EmptyLatentVideo"}], "links": [], "version": 0.4}
EXTRA = {"workflow": WORKFLOW}


def _frames(count=5, height=24, width=40, seed=0):
    """Distinct flat-coloured frames, so lossy and palette encoders keep them apart."""
    colours = torch.rand(count, 1, 1, 3, generator=torch.Generator().manual_seed(seed))
    return colours.expand(count, height, width, 3).contiguous()


def _save(cls, images, prefix="anim", **options):
    defaults = {SaveAnimatedWEBP: dict(fps=8.0, lossless=True, quality=80, method="default"),
                SaveAnimatedPNG: dict(fps=8.0, compress_level=4),
                SaveAnimatedGIF: dict(fps=8.0, loop=0)}[cls]
    return cls().save_images(images, filename_prefix=prefix, prompt=PROMPT, extra_pnginfo=EXTRA,
                             **{**defaults, **options})


def _path(tmp_folders, result):
    entry = result["ui"]["images"][0]
    return tmp_folders.output_dir / entry["subfolder"] / entry["filename"]


def _durations(path):
    durations = []
    with Image.open(path) as image:
        for frame in ImageSequence.Iterator(image):
            frame.load()  # WebP fills in the duration when a frame is decoded
            durations.append(frame.info.get("duration"))
    return durations


@pytest.mark.parametrize("cls, extension", [(SaveAnimatedWEBP, "webp"), (SaveAnimatedPNG, "png"),
                                            (SaveAnimatedGIF, "gif")])
def test_one_file_with_every_frame_in_order(tmp_folders, cls, extension):
    images = _frames(5)
    result = _save(cls, images, prefix="clips/anim")
    assert result["ui"]["animated"] == (True,)
    [entry] = result["ui"]["images"]
    assert entry == {"filename": f"anim_00001_.{extension}", "subfolder": "clips", "type": "output"}
    with Image.open(_path(tmp_folders, result)) as image:
        assert image.n_frames == 5 and image.size == (40, 24)
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            pixel = torch.tensor(frame.convert("RGB").getpixel((20, 12)), dtype=torch.float32) / 255
            assert (pixel - images[index, 12, 20]).abs().max() <= 3 / 255, index
    assert _save(cls, images, prefix="clips/anim")["ui"]["images"][0]["filename"] == f"anim_00002_.{extension}"


@pytest.mark.parametrize("cls, fps, expected_ms", [
    (SaveAnimatedWEBP, 8.0, 125), (SaveAnimatedWEBP, 3.0, 333),  # whole milliseconds, rounded down
    (SaveAnimatedPNG, 8.0, 125), (SaveAnimatedPNG, 24.0, 41),
    (SaveAnimatedGIF, 5.0, 200), (SaveAnimatedGIF, 10.0, 100),   # GIF keeps hundredths of a second
])
def test_frame_duration_follows_fps(tmp_folders, cls, fps, expected_ms):
    durations = _durations(_path(tmp_folders, _save(cls, _frames(3), fps=fps)))
    assert durations == [expected_ms] * 3


@pytest.mark.parametrize("cls", [SaveAnimatedWEBP, SaveAnimatedPNG, SaveAnimatedGIF])
def test_the_workflow_reads_back_from_the_file(tmp_folders, cls):
    path = _path(tmp_folders, _save(cls, _frames(3)))
    assert read_workflow_file(str(path)) == WORKFLOW  # the UI workflow is preferred over the prompt


def test_webp_metadata_sits_in_exif_as_comfyui_writes_it(tmp_folders):
    path = _path(tmp_folders, _save(SaveAnimatedWEBP, _frames(2)))
    with Image.open(path) as image:
        exif = image.getexif()
    assert exif[0x0110] == "prompt:" + json.dumps(PROMPT)
    assert exif[0x010F] == "workflow:" + json.dumps(WORKFLOW)


def test_apng_metadata_is_in_text_chunks(tmp_folders):
    path = _path(tmp_folders, _save(SaveAnimatedPNG, _frames(2)))
    with Image.open(path) as image:
        assert json.loads(image.text["prompt"]) == PROMPT
        assert json.loads(image.text["workflow"]) == WORKFLOW


def test_comfyui_style_apng_comf_chunks_are_read(tmp_path):
    """ComfyUI's SaveAnimatedPNG writes private 'comf' chunks after the image data."""
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    info = PngImagePlugin.PngInfo()
    info.add(b"comf", b"workflow\0" + json.dumps(WORKFLOW).encode("latin-1"), after_idat=True)
    path = tmp_path / "comfy.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, pnginfo=info)
    assert read_workflow_file(str(path)) == WORKFLOW


@pytest.mark.parametrize("cls", [SaveAnimatedWEBP, SaveAnimatedPNG, SaveAnimatedGIF])
def test_disable_metadata_leaves_the_workflow_out(tmp_folders, cls):
    from engine import save_options

    save_options.configure(disable_metadata=True)
    try:
        path = _path(tmp_folders, _save(cls, _frames(2)))
    finally:
        save_options.configure()
    with pytest.raises(WorkflowFileError, match="no embedded workflow"):
        read_workflow_file(str(path))


def test_webp_options_change_the_file(tmp_folders):
    images = torch.rand(3, 32, 32, 3, generator=torch.Generator().manual_seed(1))
    lossless = _path(tmp_folders, _save(SaveAnimatedWEBP, images, lossless=True))
    lossy = _path(tmp_folders, _save(SaveAnimatedWEBP, images, lossless=False, quality=10, method="fastest"))
    assert lossy.stat().st_size < lossless.stat().st_size
    with Image.open(lossless) as image:
        first = torch.tensor(list(image.convert("RGB").tobytes()), dtype=torch.float32).reshape(32, 32, 3) / 255
    assert (first - images[0]).abs().max() <= 1 / 255  # lossless keeps the 8-bit pixels


def test_one_frame_webp_is_not_animated(tmp_folders):
    result = _save(SaveAnimatedWEBP, _frames(1))
    assert result["ui"]["animated"] == (False,)


@pytest.mark.parametrize("cls, options, message", [
    (SaveAnimatedWEBP, {"method": "best"}, "method: expected one of"),
    (SaveAnimatedWEBP, {"quality": 101}, "quality: 101 is outside 0..100"),
    (SaveAnimatedWEBP, {"fps": 0.0}, "fps: 0.0 is outside"),
    (SaveAnimatedPNG, {"compress_level": 12}, "compress_level: 12 is outside 0..9"),
    (SaveAnimatedGIF, {"loop": -1}, "loop: -1 is outside"),
])
def test_bad_options_name_the_input(tmp_folders, cls, options, message):
    with pytest.raises(ValueError, match=message):
        _save(cls, _frames(2), **options)


def test_a_non_image_input_names_images(tmp_folders):
    with pytest.raises(ValueError, match="images: expected an IMAGE"):
        _save(SaveAnimatedPNG, torch.zeros(2, 4, 8, 8, 8))


def test_schemas_match_comfyui():
    webp = SaveAnimatedWEBP.INPUT_TYPES()["required"]
    assert list(webp) == ["images", "filename_prefix", "fps", "lossless", "quality", "method"]
    assert webp["fps"][1]["default"] == 6.0 and webp["lossless"][1]["default"] is True
    assert webp["quality"][1]["default"] == 80 and webp["method"][0] == ["default", "fastest", "slowest"]
    png = SaveAnimatedPNG.INPUT_TYPES()["required"]
    assert list(png) == ["images", "filename_prefix", "fps", "compress_level"]
    assert png["compress_level"][1]["default"] == 4
    for cls in (SaveAnimatedWEBP, SaveAnimatedPNG, SaveAnimatedGIF):
        assert cls.OUTPUT_NODE and cls.CATEGORY == "image/animation"
        assert cls.INPUT_TYPES()["hidden"] == {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}
