"""Upscale models: ESRGAN-family RRDB files in every key layout, tiling, pickle policy, errors, workflow."""
import json

import numpy as np
import pytest
import torch

from engine.errors import ModelError
from tests.tiny_upscale import reference_esrgan, save_upscale_model

# name -> ReferenceESRGAN sizes and the expected scale
VARIANTS = {
    "x4": (dict(upsamples=2), 4),
    "x2-unshuffle": (dict(upsamples=2, unshuffle=2), 2),  # Real-ESRGAN x2plus: 12 input channels
    "x1-unshuffle": (dict(upsamples=2, unshuffle=4), 1),  # 48 input channels
    "x2": (dict(upsamples=1), 2),
    "x1": (dict(upsamples=0), 1),
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Many tiny convolutions: one thread avoids waiting on a second one the busy CPU rarely runs."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def upscale_dir(tmp_folders, tmp_path):
    from engine import model_cache

    model_cache.configure()  # a fresh cache per test
    return tmp_path / "models" / "upscale_models"


def _picture(height=24, width=20, seed=5):
    return torch.rand(1, height, width, 3, generator=torch.Generator().manual_seed(seed))


def _load(name):
    from nodes.upscale_model import UpscaleModelLoader

    return UpscaleModelLoader().load_model(name)[0]


def test_schemas_match_comfyui():
    from nodes.upscale_model import ImageUpscaleWithModel, UpscaleModelLoader

    assert list(UpscaleModelLoader.INPUT_TYPES()["required"]) == ["model_name"]
    assert UpscaleModelLoader.RETURN_TYPES == ("UPSCALE_MODEL",) and UpscaleModelLoader.CATEGORY == "loaders"
    assert list(ImageUpscaleWithModel.INPUT_TYPES()["required"]) == ["upscale_model", "image"]
    assert ImageUpscaleWithModel.RETURN_TYPES == ("IMAGE",)
    assert ImageUpscaleWithModel.CATEGORY == "image/upscaling"


@pytest.mark.parametrize("layout", ["old", "new", "basicsr"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_layout_loads_and_matches_the_reference(upscale_dir, layout, variant):
    sizes, scale = VARIANTS[variant]
    net = reference_esrgan(seed=1, **sizes)
    save_upscale_model(net, upscale_dir / f"{variant}.safetensors", layout)
    model = _load(f"{variant}.safetensors")
    assert (model.scale, model.layout, len(model.model.body)) == (scale, layout, 1)
    pixels = _picture().movedim(-1, 1)
    with torch.no_grad():
        expected = net(pixels)
    ours = model(pixels)
    assert ours.shape == (1, 3, 24 * scale, 20 * scale)
    assert (ours - expected).abs().max() < 1e-5


def test_known_key_names_are_what_the_files_hold(upscale_dir):
    """Anchors from real files: RealESRGAN_x4plus (BasicSR), x2plus (12 input channels), ESRGAN 4x (old)."""
    from safetensors import safe_open

    def keys(net, layout):
        path = save_upscale_model(net, upscale_dir / f"k_{layout}.safetensors", layout)
        with safe_open(str(path), "pt") as handle:
            return {key: handle.get_slice(key).get_shape() for key in handle.keys()}

    x4 = reference_esrgan(upsamples=2)
    old = keys(x4, "old")
    assert {"model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight", "model.1.sub.1.weight", "model.3.weight",
            "model.6.weight", "model.8.weight", "model.10.weight"} <= set(old)
    assert {"conv_first.weight", "body.0.rdb1.conv1.weight", "conv_body.weight", "conv_up1.weight",
            "conv_up2.weight", "conv_hr.weight", "conv_last.weight"} <= set(keys(x4, "basicsr"))
    assert {"RRDB_trunk.0.RDB3.conv5.weight", "trunk_conv.weight", "upconv2.weight", "HRconv.weight"} <= \
        set(keys(x4, "new"))
    assert keys(reference_esrgan(upsamples=2, unshuffle=2), "basicsr")["conv_first.weight"][1] == 12


def test_six_block_anime_variant_loads(upscale_dir):
    net = reference_esrgan(seed=3, nb=6, nf=12, gc=6)
    save_upscale_model(net, upscale_dir / "RealESRGAN_x4plus_anime_6B.safetensors", "basicsr")
    model = _load("RealESRGAN_x4plus_anime_6B.safetensors")
    assert len(model.model.body) == 6 and model.scale == 4
    assert "6 blocks, 12 features" in model.describe()
    pixels = _picture(16, 16).movedim(-1, 1)
    with torch.no_grad():
        assert (model(pixels) - net(pixels)).abs().max() < 1e-5


def test_odd_sizes_pad_for_pixel_unshuffle(upscale_dir):
    net = reference_esrgan(seed=2, upsamples=2, unshuffle=2)
    save_upscale_model(net, upscale_dir / "x2.safetensors", "basicsr")
    model = _load("x2.safetensors")
    out = model(_picture(23, 17).movedim(-1, 1))
    assert out.shape == (1, 3, 46, 34)
    padded = torch.nn.functional.pad(_picture(23, 17).movedim(-1, 1), (0, 1, 0, 1), mode="reflect")
    with torch.no_grad():  # the reference on the image mirrored out to 24 x 18, cut back
        expected = net(padded)[..., :46, :34]
    assert (out - expected).abs().max() < 1e-5


def test_axis_weights_sum_to_one():
    from engine.upscale.tiling import axis_weights, tile_spans

    for length, tile, overlap, align, scale in ((1000, 512, 32, 1, 4), (301, 128, 64, 2, 2), (96, 40, 20, 4, 1),
                                                (513, 512, 32, 1, 1), (50, 512, 32, 1, 4)):
        spans = tile_spans(length, tile, overlap, align)
        assert spans[0][0] == 0 and spans[-1][1] == length
        assert all(start % align == 0 for start, _ in spans)
        total = torch.zeros(length * scale)
        for (start, _end), weights in zip(spans, axis_weights(length, spans, scale)):
            assert (weights >= 0).all()
            total[start * scale:start * scale + weights.numel()] += weights
        assert torch.allclose(total, torch.ones_like(total))


@pytest.mark.parametrize("variant,shape,tile,overlap", [
    ("x4", (168, 200), 160, 80),            # margins (a quarter of the overlap) wider than the receptive field
    ("x2-unshuffle", (90, 301), 288, 144),  # odd width, tiles aligned to the 2x2 unshuffle blocks
])
def test_tiled_equals_untiled(upscale_dir, variant, shape, tile, overlap):
    from engine.upscale.run import upscale_image

    sizes, scale = VARIANTS[variant]
    save_upscale_model(reference_esrgan(seed=4, nf=4, **sizes), upscale_dir / "m.safetensors", "basicsr")
    model = _load("m.safetensors")
    image = _picture(*shape, seed=6)
    calls = []
    tiled = upscale_image(model, image, tile=tile, overlap=overlap, progress=lambda d, t: calls.append((d, t)),
                          device=torch.device("cpu"))
    whole = model(image.movedim(-1, 1)).movedim(1, -1).clamp(0, 1)
    assert tiled.shape == (1, shape[0] * scale, shape[1] * scale, 3)
    assert len(calls) > 1 and calls[-1][0] == calls[-1][1] == len(calls)
    assert (tiled - whole).abs().max() < 1e-5
    # ComfyUI's default tiles on the same image: seams stay small even where context is missing
    small = upscale_image(model, image, tile=64, overlap=32, device=torch.device("cpu"))
    assert (small - whole).abs().mean() < 0.02


def test_tile_shrinks_to_fit_memory(upscale_dir):
    from engine.upscale.run import fit_tile, tile_bytes

    save_upscale_model(reference_esrgan(), upscale_dir / "m.safetensors", "basicsr")
    model = _load("m.safetensors")
    assert fit_tile(model, 512, 10 ** 12) == 512
    assert fit_tile(model, 512, 2 * tile_bytes(model, 256)) == 256
    assert fit_tile(model, 512, 1) == 128  # never below 128


def test_interrupt_between_tiles_puts_the_model_back(upscale_dir):
    from engine.upscale.run import upscale_image

    save_upscale_model(reference_esrgan(), upscale_dir / "m.safetensors", "basicsr")
    model = _load("m.safetensors")

    class Stop(Exception):
        pass

    def progress(done, total):
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        upscale_image(model, _picture(100, 100), tile=32, overlap=8, progress=progress)
    assert next(model.model.parameters()).device.type == "cpu"


def test_batches_alpha_and_grey(upscale_dir):
    from nodes.upscale_model import ImageUpscaleWithModel

    save_upscale_model(reference_esrgan(upsamples=1), upscale_dir / "x2.safetensors", "old")
    model = _load("x2.safetensors")
    rgba = torch.rand(2, 16, 12, 4, generator=torch.Generator().manual_seed(8))
    (out,) = ImageUpscaleWithModel().upscale(model, rgba)
    assert out.shape == (2, 32, 24, 3) and 0 <= out.min() and out.max() <= 1
    (second,) = ImageUpscaleWithModel().upscale(model, rgba[1:, ..., :3])
    assert torch.allclose(out[1:], second, atol=1e-6)
    (grey,) = ImageUpscaleWithModel().upscale(model, rgba[:1, ..., :1])
    assert grey.shape == (1, 32, 24, 3)
    with pytest.raises(ValueError, match="upscale_model: expected an UPSCALE_MODEL"):
        ImageUpscaleWithModel().upscale("RealESRGAN_x4plus.pth", rgba)


def test_pth_needs_the_pickle_flag(upscale_dir):
    from engine import devices

    net = reference_esrgan(seed=9)
    save_upscale_model(net, upscale_dir / "RealESRGAN_x4plus.pth", "basicsr")  # {"params_ema": ...} as shipped
    with pytest.raises(ModelError, match=r"model_name: RealESRGAN_x4plus.pth: pickle files \(.pth\).*--allow-pickle"):
        _load("RealESRGAN_x4plus.pth")
    previous = devices._settings
    devices.configure(allow_pickle=True)
    try:
        model = _load("RealESRGAN_x4plus.pth")
    finally:
        devices._settings = previous
    pixels = _picture(8, 8).movedim(-1, 1)
    with torch.no_grad():
        assert (model(pixels) - net(pixels)).abs().max() < 1e-5


def _run(prompt):
    from graph.executor import CacheConfig, PromptExecutor
    from graph.validate import validate_prompt
    from nodes.registry import NodeRegistry

    classes = NodeRegistry(load_custom_nodes=False).load().classes
    checked = validate_prompt(prompt, classes)
    assert checked.ok, checked.node_errors or checked.error
    return PromptExecutor(classes, cache=CacheConfig(policy="none")).execute(checked.prompt, "p", {}, checked.outputs)


def _workflow_with_image(tmp_path, height=24, width=32):
    from PIL import Image

    from engine.folders import REPO_ROOT

    (tmp_path / "input").mkdir(exist_ok=True)
    pixels = (_picture(height, width)[0].numpy() * 255).astype("uint8")
    Image.fromarray(pixels).save(tmp_path / "input" / "example.png")
    return json.loads((REPO_ROOT / "workflows" / "upscale.json").read_text())


@pytest.mark.parametrize("content,message", [
    (b"not a safetensors file at all", "not a valid safetensors file"),
    ("srvgg", "not an ESRGAN-family (RRDB) upscale model"),
    ("shapes", "tensor sizes do not form an RRDB network"),
])
def test_bad_files_name_the_node_and_input(upscale_dir, tmp_path, content, message):
    from safetensors.torch import save_file

    path = upscale_dir / "RealESRGAN_x4plus.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    if content == "srvgg":  # a compact (SRVGG) model: another architecture
        save_file({"body.0.weight": torch.zeros(8, 3, 3, 3), "body.0.bias": torch.zeros(8)}, str(path))
    elif content == "shapes":
        from tests.tiny_upscale import rename

        state = rename(reference_esrgan().state_dict(), "basicsr")
        state["conv_body.weight"] = torch.zeros(8, 5, 3, 3)
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        path.write_bytes(content)
    result = _run(_workflow_with_image(tmp_path))
    assert result.status_str == "error"
    assert result.error["node_type"] == "UpscaleModelLoader" and result.error["node_id"] == "2"
    text = result.error["exception_message"]
    assert text.startswith("model_name: RealESRGAN_x4plus.safetensors: ") and message in text, text


def test_upscale_workflow_runs_on_a_tiny_model(upscale_dir, tmp_path):
    """workflows/upscale.json with a tiny x4 model under the name the workflow uses."""
    from PIL import Image

    net = reference_esrgan(seed=11)
    save_upscale_model(net, upscale_dir / "RealESRGAN_x4plus.safetensors", "basicsr")
    prompt = _workflow_with_image(tmp_path, 24, 32)
    assert prompt["2"]["inputs"]["model_name"] == "RealESRGAN_x4plus.safetensors"
    result = _run(prompt)
    assert result.status_str == "success", result.error
    saved = result.outputs["4"]["images"][0]
    image = Image.open(tmp_path / "output" / saved["subfolder"] / saved["filename"])
    assert image.size == (128, 96)
    source = torch.from_numpy(np.array(Image.open(tmp_path / "input" / "example.png"))) / 255.0
    with torch.no_grad():
        expected = net(source[None].movedim(-1, 1).float()).clamp(0, 1)[0].movedim(0, -1)
    got = torch.from_numpy(np.array(image)).float() / 255.0
    assert (got - expected).abs().max() <= 1.5 / 255
