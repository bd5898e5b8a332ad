"""LoRA patches on a CLIP apply only while encoding, only to the clone that carries them."""
import copy

import torch

from engine.clip import CLIP
from engine.patching import LoraPatch
from tests.tiny_models import tiny_sd_components

PARAM = "encoder.layers.0.self_attn.q_proj.weight"


def test_patched_clone_encodes_with_the_delta_and_restores_weights():
    components = tiny_sd_components("sd1")
    encoder = components["text_encoder"]
    clip = CLIP([encoder], [components["tokenizer"]], "sd1")
    generator = torch.Generator().manual_seed(0)
    patch = LoraPatch(up=torch.randn(32, 4, generator=generator), down=torch.randn(4, 32, generator=generator),
                      alpha=2.0)
    before = dict(encoder.named_parameters())[PARAM].detach().clone()
    plain, _ = clip.encode("a red cube")

    patched = clip.clone()
    patched.add_patches([{PARAM: patch}], 0.8)
    with_lora, _ = patched.encode("a red cube")

    reference = copy.deepcopy(encoder)
    with torch.no_grad():
        dict(reference.named_parameters())[PARAM] += 0.8 * (2.0 / 4) * (patch.up @ patch.down)
        ids = components["tokenizer"]("a red cube", padding="max_length", return_tensors="pt").input_ids
        expected = reference(ids).last_hidden_state
    torch.testing.assert_close(with_lora, expected, atol=1e-5, rtol=0)
    assert (with_lora - plain).abs().max() > 1e-3
    assert torch.equal(dict(encoder.named_parameters())[PARAM], before)
    assert torch.equal(clip.encode("a red cube")[0], plain)
