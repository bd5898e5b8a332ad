"""The demo model's dataset, pixel classifier and trainer (the training itself is run by hand)."""

import json
import random

import numpy as np
import pytest
import torch
from PIL import Image

from demo.classify import read_image
from demo.render import render
from demo.scenes import COLOURS, POSITIONS, SHAPES, Scene, caption, held_out, random_scene
from demo.data import training_scenes


def test_held_out_combinations_cover_every_colour_shape_pair_once_and_every_position():
    triples = held_out()
    assert len(triples) == len(COLOURS) * len(SHAPES)
    assert {(c, s) for c, s, _ in triples} == {(c, s) for c in COLOURS for s in SHAPES}
    assert {p for _, _, p in triples} == set(POSITIONS)


def test_training_scenes_never_show_a_held_out_combination():
    triples = held_out()
    scenes = training_scenes(3000, seed=11)
    assert not [s for s in scenes if (s.colour, s.shape, s.position) in triples]
    # ...while every colour, shape and position still appears
    assert {s.colour for s in scenes} == set(COLOURS) and {s.shape for s in scenes} == set(SHAPES)
    assert {s.position for s in scenes} == set(POSITIONS)


def test_captions_name_the_scene_in_plain_english():
    scene = Scene("circle", "red", "small", ("top", "left"), "plain", ("blue",))
    assert caption(scene) == "a small red circle at the top left on a blue background"
    orange = Scene("star", "orange", "large", ("middle", "centre"), "gradient", ("white", "orange"))
    assert caption(orange) == "a large orange star in the centre on a white to orange gradient"
    split = Scene("cross", "green", "medium", ("bottom", "right"), "split", ("orange", "gray"))
    assert caption(split) == "a medium green cross at the bottom right on an orange and gray background"
    shortened = {caption(orange, random.Random(seed)) for seed in range(200)}
    assert "an orange star in the centre on a white to orange gradient" in shortened
    assert all("orange star" in text for text in shortened)


def test_the_classifier_reads_rendered_scenes_correctly():
    rng = random.Random(3)
    for _ in range(120):
        scene = random_scene(rng)
        scene = Scene(scene.shape, scene.colour, scene.size, scene.position, "plain",
                      (rng.choice(["white", "black", "gray"]),), scene.jitter)
        reading = read_image(render(scene))
        assert (reading.colour, reading.position, reading.shape) == (scene.colour, scene.position, scene.shape), scene


def test_the_classifier_reports_nothing_on_an_empty_picture():
    reading = read_image(Image.new("RGB", (128, 128), (245, 245, 245)))
    assert reading.colour is None and reading.shape is None and reading.position is None


def test_latent_normalisation_keeps_the_decoder_output_and_whitens_the_latents():
    from demo import models
    from demo.data import to_tensor
    from demo.train import normalise_latent_space, parse_args

    torch.manual_seed(0)
    vae = models.build_vae(0).eval()
    images = to_tensor([render(scene) for scene in training_scenes(16, seed=5)])
    with torch.no_grad():
        before = vae.decode(vae.encode(images).latent_dist.mean).sample
        normalise_latent_space(vae, parse_args(["--seed", "0"]), torch.device("cpu"))
        vae.eval()
        latents = vae.encode(images).latent_dist.mean
        after = vae.decode(latents).sample
    assert torch.allclose(before, after, atol=1e-4)
    scaled = latents * models.VAE_SCALING_FACTOR
    assert scaled.mean(dim=(0, 2, 3)).abs().max() < 0.5
    assert ((scaled.std(dim=(0, 2, 3)) - 1).abs() < 0.5).all()


def test_learning_rate_cycles_warm_up_and_restart_at_half_the_peak():
    from demo.train import cyclic_lr

    assert cyclic_lr(0, [1000, 500], 6e-4) == pytest.approx(6e-4 / 200)
    assert cyclic_lr(199, [1000, 500], 6e-4) == pytest.approx(6e-4)
    assert cyclic_lr(999, [1000, 500], 6e-4) == pytest.approx(6e-5, rel=0.01)
    assert cyclic_lr(1000 + 199, [1000, 500], 6e-4) == pytest.approx(3e-4)
    assert cyclic_lr(1600, [1000, 500], 6e-4) == pytest.approx(3e-5)


def test_the_trainer_writes_an_ordinary_sd1_checkpoint_and_resumes(tmp_path, cpu_fp32):
    from safetensors import safe_open

    from demo.train import main
    from engine import detect
    from engine.checkpoints import load_checkpoint

    work, out = tmp_path / "work", tmp_path / "demo.safetensors"
    common = ["--work", str(work), "--out", str(out), "--plot", str(tmp_path / "loss.png"), "--vae-steps", "2", "--vae-batch", "2",
              "--images", "64", "--unet-batch", "4", "--decoder-steps", "2", "--decoder-batch", "2",
              "--save-every", "1"]
    main(common + ["--unet-cycles", "2"])
    assert torch.load(work / "diffusion.pt", weights_only=False)["step"] == 2
    main(common + ["--unet-cycles", "2,1"])  # picks up at step 2, in a second cycle
    assert torch.load(work / "diffusion.pt", weights_only=False)["step"] == 3
    losses = (work / "losses_diffusion.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in losses] == ["step", "1", "2", "3"]
    assert set(json.loads((work / "times.json").read_text())) == {"autoencoder", "encoding", "diffusion", "decoder"}
    assert Image.open(tmp_path / "loss.png").size[0] > 0
    before, after = torch.load(work / "vae_final.pt"), torch.load(work / "decoder_final.pt")
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith(("encoder.", "quant_conv.")))
    assert not all(torch.equal(before[k], after[k]) for k in before if k.startswith("decoder."))

    with safe_open(str(out), "pt") as handle:
        keys = list(handle.keys())
        assert handle.metadata()["modelspec.prediction_type"] == "epsilon"
        assert all(handle.get_tensor(k).dtype == torch.float16 for k in keys[:20])
    state = {}
    with safe_open(str(out), "pt") as handle:
        for key in keys:
            state[key] = handle.get_tensor(key)
    assert detect.detect_checkpoint(state, out.name).arch == "sd1"
    model, clip, vae = load_checkpoint(out)
    assert model is not None and clip is not None and vae is not None


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_is_drawn_inside_its_grid_cell(shape):
    for position in POSITIONS:
        scene = Scene(shape, "red", "large", position, "plain", ("white",))
        pixels = np.asarray(render(scene)).astype(int)
        mask = np.abs(pixels - 245).sum(axis=2) > 60
        ys, xs = np.nonzero(mask)
        assert 0 < xs.min() and xs.max() < 127 and 0 < ys.min() and ys.max() < 127
