"""SaveImage / PreviewImage / output naming: real PNG files in temporary folders."""

import datetime
import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine.images import expand_prefix, format_date, save_location
from nodes.image import PreviewImage, SaveImage


def _images(batch=1, height=16, width=24):
    return torch.rand(batch, height, width, 3, generator=torch.Generator().manual_seed(batch))


def test_png_round_trip_with_prompt_and_workflow_chunks(tmp_folders):
    prompt = {"3": {"class_type": "KSampler", "inputs": {"seed": 7}}}
    extra = {"workflow": {"nodes": [{"id": 3}], "links": []}, "note": "hello"}
    images = _images()
    result = SaveImage().save_images(images, "ComfyUI", prompt=prompt, extra_pnginfo=extra)
    assert result == {"ui": {"images": [{"filename": "ComfyUI_00001_.png", "subfolder": "", "type": "output"}]}}
    with Image.open(tmp_folders.output_dir / "ComfyUI_00001_.png") as png:
        assert png.size == (24, 16)
        assert json.loads(png.text["prompt"]) == prompt
        assert json.loads(png.text["workflow"]) == extra["workflow"]
        assert json.loads(png.text["note"]) == "hello"
        pixels = torch.from_numpy(np.asarray(png.convert("RGB"), dtype=np.float32) / 255)
    assert (pixels - images[0]).abs().max() <= 0.5 / 255 + 1e-6


def test_counter_continues_after_the_highest_existing_number(tmp_folders):
    sub = tmp_folders.output_dir / "runs"
    sub.mkdir(parents=True)
    (sub / "cat_00007_.png").write_bytes(b"")
    (sub / "cat_00002_.png").write_bytes(b"")
    (sub / "catdog_00050_.png").write_bytes(b"")  # another prefix does not count
    result = SaveImage().save_images(_images(batch=2), "runs/cat")
    names = [entry["filename"] for entry in result["ui"]["images"]]
    assert names == ["cat_00008_.png", "cat_00009_.png"]
    assert all(entry["subfolder"] == "runs" for entry in result["ui"]["images"])
    assert (sub / "cat_00009_.png").is_file()
    again = SaveImage().save_images(_images(), "runs/cat")
    assert again["ui"]["images"][0]["filename"] == "cat_00010_.png"


def test_batch_num_token_names_each_image(tmp_folders):
    result = SaveImage().save_images(_images(batch=2), "b%batch_num%")
    assert [e["filename"] for e in result["ui"]["images"]] == ["b0_00001_.png", "b1_00002_.png"]


@pytest.mark.parametrize("prefix", ["../escape", "a/../../b", "/abs/path", "C:/windows"])
def test_prefix_outside_the_output_folder_is_refused(tmp_folders, prefix):
    with pytest.raises(ValueError, match="filename_prefix"):
        SaveImage().save_images(_images(), prefix)
    assert not (tmp_folders.base_dir / "escape_00001_.png").exists()


def test_date_tokens_use_comfyui_letters():
    when = datetime.datetime(2024, 3, 5, 7, 8, 9)
    assert format_date("yyyy-MM-dd", when) == "2024-03-05"
    assert format_date("yy M d h:m:s", when) == "24 3 5 7:8:9"
    assert format_date("hhmmss", when) == "070809"
    assert expand_prefix("%date:yyyy-MM-dd%/img_%date:hhmm%", 8, 8, now=when) == "2024-03-05/img_0708"
    assert expand_prefix("%width%x%height%_%year%", 640, 480, now=when) == "640x480_2024"


def test_node_widget_tokens_come_from_the_prompt():
    prompt = {
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 768}, "_meta": {"title": "Size"}},
        "3": {"class_type": "KSampler", "inputs": {"seed": 42, "model": ["4", 0]}},
    }
    assert expand_prefix("%Size.width%_%KSampler.seed%", 1, 1, prompt) == "768_42"
    # links and unknown nodes stay as written
    assert expand_prefix("%KSampler.model%_%Nope.x%", 1, 1, prompt) == "%KSampler.model%_%Nope.x%"


def test_date_token_in_subfolder_creates_it(tmp_folders):
    today = datetime.datetime.now().strftime("%Y-%m-%d")
    folder, filename, counter, subfolder = save_location("%date:yyyy-MM-dd%/shot", tmp_folders.output_dir)
    assert subfolder == today and filename == "shot" and counter == 1 and folder.is_dir()


def test_preview_writes_to_temp_with_a_random_suffix(tmp_folders):
    first, second = PreviewImage(), PreviewImage()
    result = first.save_images(_images(), prompt={"1": {}})
    entry = result["ui"]["images"][0]
    assert entry["type"] == "temp"
    assert entry["filename"].startswith("ComfyUI_temp_") and entry["filename"].endswith("_00001_.png")
    assert (tmp_folders.temp_dir / entry["filename"]).is_file()
    assert not tmp_folders.output_dir.exists() or not any(tmp_folders.output_dir.iterdir())
    assert first.prefix_append != second.prefix_append or first.prefix_append != PreviewImage().prefix_append


def test_save_does_not_change_the_input(tmp_folders):
    images = _images()
    before = images.clone()
    SaveImage().save_images(images, "x")
    assert torch.equal(images, before)
