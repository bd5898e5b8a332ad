"""ImageCaption equals transformers' own generate() on a tiny BLIP; its STRING flows through
StringConcatenate into CLIPTextEncode in a graph run by graph.executor.
"""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine.errors import ModelError
from graph.context import ExecutionContext, activate, deactivate
from graph.errors import Interrupted
from nodes.captioning import ImageCaption
from tests.tiny_vision import picture, save_tiny_blip, save_tiny_blip2

pytestmark = pytest.mark.usefixtures("cpu_fp32")


@pytest.fixture
def caption_dir(tmp_folders, tmp_path):
    from engine import model_cache

    model_cache.configure()
    directory = tmp_path / "models" / "captioning"
    save_tiny_blip(directory / "blip-tiny")
    return directory


def _reference(folder, image, prefix, max_new_tokens, num_beams):
    """transformers alone: BlipProcessor + BlipForConditionalGeneration.generate, then decode."""
    from transformers import BlipForConditionalGeneration, BlipProcessor

    from engine.images import image_to_pil

    processor = BlipProcessor.from_pretrained(folder, backend="pil")
    model = BlipForConditionalGeneration.from_pretrained(folder).eval()
    inputs = processor(images=image_to_pil(image), text=prefix or None, return_tensors="pt")
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, num_beams=num_beams)
    return processor.decode(output[0], skip_special_tokens=True).strip()


@pytest.mark.parametrize("prefix, max_new_tokens, num_beams", [("", 12, 1), ("a photo of", 8, 3), ("", 5, 2)])
def test_caption_equals_transformers_generate(caption_dir, prefix, max_new_tokens, num_beams):
    images = picture(batch=2, height=40, width=56)
    result = ImageCaption().caption(images, "blip-tiny", prefix, max_new_tokens, num_beams)
    expected = [_reference(caption_dir / "blip-tiny", images[i], prefix, max_new_tokens, num_beams)
                for i in range(2)]
    assert all(expected) and expected[0] != expected[1]  # real, different captions
    assert result["ui"] == {"text": expected}
    assert result["result"] == ("\n".join(expected),)
    if prefix:
        assert all(caption.startswith(prefix) for caption in expected)


@pytest.mark.parametrize("prefix, num_beams", [("", 1), ("a photo of", 2)])
def test_blip2_caption_equals_transformers_generate(caption_dir, prefix, num_beams):
    from transformers import Blip2ForConditionalGeneration, Blip2Processor

    from engine.images import image_to_pil

    folder = save_tiny_blip2(caption_dir / "blip2-tiny")
    images = picture(batch=2, height=40, width=56)
    result = ImageCaption().caption(images, "blip2-tiny", prefix, 8, num_beams)
    processor = Blip2Processor.from_pretrained(folder, backend="pil")
    model = Blip2ForConditionalGeneration.from_pretrained(folder).eval()
    expected = []
    for image in images:
        inputs = processor(images=image_to_pil(image), text=prefix or None, return_tensors="pt")
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=8, num_beams=num_beams)
        expected.append(processor.decode(output[0], skip_special_tokens=True).strip())
    assert all(len(caption) > len(prefix) for caption in expected)
    if not prefix:  # the tiny decoder hears the picture without a prefix (with one, barely)
        assert expected[0] != expected[1]
    assert result["ui"] == {"text": expected}


def test_options_change_the_caption(caption_dir):
    image = picture(batch=1)
    short = ImageCaption().caption(image, "blip-tiny", "", 3, 1)["result"][0]
    long = ImageCaption().caption(image, "blip-tiny", "", 12, 1)["result"][0]
    prefixed = ImageCaption().caption(image, "blip-tiny", "the red house", 12, 1)["result"][0]
    assert len(short.split()) < len(long.split())
    assert prefixed.startswith("the red house") and prefixed != long


def test_cached_progress_and_interrupt(caption_dir):
    import threading

    from engine import model_cache
    from engine.captioning import load_caption_model

    first = load_caption_model(caption_dir / "blip-tiny")
    events, stop = [], threading.Event()
    token = activate(ExecutionContext("p", "7", emit=lambda e, d, c: events.append((e, d)), interrupt_event=stop))
    try:
        ImageCaption().caption(picture(batch=2), "blip-tiny", "", 4, 1)
        assert [(d["value"], d["max"]) for e, d in events if e == "progress"] == [(1, 2), (2, 2)]
        stop.set()
        with pytest.raises(Interrupted):
            ImageCaption().caption(picture(batch=2), "blip-tiny", "", 4, 1)
    finally:
        deactivate(token)
    assert load_caption_model(caption_dir / "blip-tiny") is first and len(model_cache.get()) == 1
    assert all(p.device.type == "cpu" for p in first.model.parameters())


def test_bad_input_names_the_input(caption_dir):
    node = ImageCaption()
    image = picture(batch=1)
    with pytest.raises(ValueError, match="model_name: model 'missing' not found in models/captioning"):
        node.caption(image, "missing")
    wrong = caption_dir / "a-depth-model"
    wrong.mkdir()
    (wrong / "config.json").write_text(json.dumps({"model_type": "dpt"}))
    with pytest.raises(ModelError, match="model_name: 'a-depth-model' is a dpt model, not an image captioning"):
        node.caption(image, "a-depth-model")
    with pytest.raises(ValueError, match="image: expected an IMAGE"):
        node.caption(torch.zeros(32, 32, 3), "blip-tiny")
    with pytest.raises(ValueError, match="num_beams"):
        node.caption(image, "blip-tiny", "", 10, 0)
    with pytest.raises(ValueError, match="max_new_tokens"):
        node.caption(image, "blip-tiny", "", 0, 1)


class _ConditioningSink:
    """Output node that keeps the CONDITIONING it receives."""

    received = []

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"conditioning": ("CONDITIONING",)}}

    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"

    def run(self, conditioning):
        _ConditioningSink.received.append(conditioning)
        return {}


def test_caption_flows_into_clip_text_encode_in_a_graph(caption_dir, tmp_path):
    from engine.checkpoints import load_checkpoint
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_models import save_single_file, tiny_sd_components

    save_single_file(tiny_sd_components("sd1"), tmp_path / "models" / "checkpoints" / "tiny.safetensors")
    (tmp_path / "input").mkdir()
    pixels = (picture(batch=1, height=48, width=48)[0].numpy() * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "input" / "photo.png")
    classes = dict(NodeRegistry(load_custom_nodes=False).load().classes, Sink=_ConditioningSink)
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "photo.png"}},
        "2": {"class_type": "ImageCaption", "inputs": {"image": ["1", 0], "model_name": "blip-tiny",
                                                       "prefix": "", "max_new_tokens": 10, "num_beams": 2}},
        "3": {"class_type": "StringConcatenate", "inputs": {"string_a": ["2", 0], "string_b": "oil painting",
                                                            "delimiter": ", "}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny.safetensors"}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": ["3", 0], "clip": ["4", 1]}},
        "6": {"class_type": "Sink", "inputs": {"conditioning": ["5", 0]}},
    }
    checked = validate_prompt(prompt, classes)
    assert checked.ok, checked.node_errors or checked.error
    _ConditioningSink.received = []
    result = PromptExecutor(classes, cache=CacheConfig(policy="none")).execute(checked.prompt, "p", {}, checked.outputs)
    assert result.status_str == "success", result.error

    caption = _reference(caption_dir / "blip-tiny", torch.from_numpy(pixels / 255.0).float(), "", 10, 2)
    assert caption and result.outputs["2"] == {"text": [caption]}
    _model, clip, _vae = load_checkpoint(tmp_path / "models" / "checkpoints" / "tiny.safetensors")
    expected, _pooled = clip.encode(caption + ", oil painting")
    received = _ConditioningSink.received[0][0][0]
    assert torch.allclose(received, expected, atol=1e-6)
    assert not torch.allclose(received, clip.encode("oil painting")[0], atol=1e-3)


def test_missing_model_in_a_graph_names_node_and_input(caption_dir, tmp_path):
    from graph.executor import CacheConfig, PromptExecutor
    from nodes.registry import NodeRegistry

    classes = NodeRegistry(load_custom_nodes=False).load().classes
    (tmp_path / "input").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "input" / "a.png")
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
              "2": {"class_type": "ImageCaption", "inputs": {"image": ["1", 0], "model_name": "gone"}}}
    result = PromptExecutor(classes, cache=CacheConfig(policy="none")).execute(prompt, "p", {}, ["2"])
    assert result.status_str == "error"
    assert result.error["node_id"] == "2" and result.error["node_type"] == "ImageCaption"
    assert "model_name: model 'gone' not found in models/captioning" in result.error["exception_message"]


def test_caption_to_image_workflow_runs_on_tiny_models(caption_dir, tmp_path):
    """workflows/caption_to_image.json with tiny models: the caption, joined with the style words, drives txt2img."""
    from engine.folders import REPO_ROOT
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry
    from tests.tiny_models import save_single_file, tiny_sd_components

    save_single_file(tiny_sd_components("sd1"), tmp_path / "models" / "checkpoints" / "tiny.safetensors")
    (tmp_path / "input").mkdir()
    Image.new("RGB", (48, 48), (200, 30, 30)).save(tmp_path / "input" / "example.png")
    prompt = json.loads((REPO_ROOT / "workflows" / "caption_to_image.json").read_text())
    assert prompt["6"]["inputs"]["text"] == ["3", 0] and prompt["3"]["inputs"]["string_a"] == ["2", 0]
    prompt["2"]["inputs"]["model_name"] = "blip-tiny"
    prompt["4"]["inputs"]["ckpt_name"] = "tiny.safetensors"
    prompt["5"]["inputs"].update(width=64, height=64)
    prompt["8"]["inputs"]["steps"] = 3
    classes = NodeRegistry(load_custom_nodes=False).load().classes
    checked = validate_prompt(prompt, classes)
    assert checked.ok, checked.node_errors or checked.error
    result = PromptExecutor(classes, cache=CacheConfig(policy="none")).execute(checked.prompt, "p", {}, checked.outputs)
    assert result.status_str == "success", result.error
    assert result.outputs["2"]["text"][0]  # the caption shows in the node's ui output
    assert len(result.outputs["10"]["images"]) == 1
