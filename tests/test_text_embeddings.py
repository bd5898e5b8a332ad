"""Textual-inversion embeddings: file formats, insertion as input embeddings, missing names."""
import copy
import logging

import pytest
import torch
from safetensors.torch import save_file

from engine import devices, folders
from engine.clip import CLIP
from engine.errors import ModelError
from engine.text.embeddings import lookup
from tests.tiny_models import tiny_sd_components

WIDTH = 32


@pytest.fixture()
def embeddings_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "_folders", folders.Folders.default(tmp_path, models_dir=tmp_path / "models"))
    directory = tmp_path / "models" / "embeddings"
    directory.mkdir(parents=True)
    return directory


@pytest.fixture(scope="module")
def sd1():
    return tiny_sd_components("sd1")


def vectors(seed, count=2, width=WIDTH):
    return torch.randn(count, width, generator=torch.Generator().manual_seed(seed))


def reference_encoding(components, words_before, inserted, words_after):
    """Encode with the vectors written into spare rows of a copy of the token embedding table."""
    tokenizer = components["tokenizer"]
    encoder = copy.deepcopy(components["text_encoder"])
    spare_ids = list(range(1000, 1000 + len(inserted)))
    with torch.no_grad():
        encoder.embeddings.token_embedding.weight[spare_ids] = inserted
    ids = ([tokenizer.bos_token_id] + tokenizer(words_before, add_special_tokens=False).input_ids + spare_ids
           + tokenizer(words_after, add_special_tokens=False).input_ids + [tokenizer.eos_token_id])
    ids += [tokenizer.pad_token_id] * (77 - len(ids))
    with torch.no_grad():
        return encoder(torch.tensor([ids])).last_hidden_state


def test_safetensors_embedding_is_inserted_as_input_vectors(embeddings_dir, sd1):
    vecs = vectors(1)
    save_file({"emb_params": vecs}, str(embeddings_dir / "mystyle.safetensors"))
    clip = CLIP([sd1["text_encoder"]], [sd1["tokenizer"]], "sd1")
    cond, _ = clip.encode("a photo embedding:mystyle of a cat")
    expected = reference_encoding(sd1, "a photo", vecs, "of a cat")
    torch.testing.assert_close(cond, expected, atol=1e-5, rtol=0)


def test_file_extension_may_be_given(embeddings_dir, sd1):
    save_file({"emb_params": vectors(1)}, str(embeddings_dir / "mystyle.safetensors"))
    clip = CLIP([sd1["text_encoder"]], [sd1["tokenizer"]], "sd1")
    with_ext, _ = clip.encode("a embedding:mystyle.safetensors cat")
    without, _ = clip.encode("a embedding:mystyle cat")
    assert torch.equal(with_ext, without)


def test_weighted_embedding_changes_only_its_positions(embeddings_dir, sd1):
    save_file({"emb_params": vectors(2)}, str(embeddings_dir / "mystyle.safetensors"))
    clip = CLIP([sd1["text_encoder"]], [sd1["tokenizer"]], "sd1")
    plain, _ = clip.encode("a embedding:mystyle cat")
    weighted, _ = clip.encode("a (embedding:mystyle:1.4) cat")
    changed = (plain - weighted).abs().amax(dim=-1)[0]
    assert changed[2] > 1e-4 and changed[3] > 1e-4  # start, "a", then the two vectors
    assert torch.all(changed[:2] == 0) and torch.all(changed[4:] == 0)


def test_a1111_pt_format_needs_the_pickle_flag(embeddings_dir, sd1, monkeypatch):
    vecs = vectors(3)
    torch.save({"string_to_param": {"*": vecs}, "name": "old"}, str(embeddings_dir / "old.pt"))
    save_file({"emb_params": vecs}, str(embeddings_dir / "new.safetensors"))
    clip = CLIP([sd1["text_encoder"]], [sd1["tokenizer"]], "sd1")
    with pytest.raises(ModelError, match="old.pt"):
        clip.encode("a embedding:old cat")
    monkeypatch.setattr(devices, "_settings", devices.DeviceSettings(allow_pickle=True))
    from_pt, _ = clip.encode("a embedding:old cat")
    from_safetensors, _ = clip.encode("a embedding:new cat")
    assert torch.equal(from_pt, from_safetensors)


def test_sdxl_file_gives_each_encoder_its_part(embeddings_dir):
    clip_l, clip_g = vectors(4, count=1), vectors(5, count=1)
    save_file({"clip_l": clip_l, "clip_g": clip_g}, str(embeddings_dir / "xl.safetensors"))
    found_l, _ = lookup("xl", WIDTH, "clip_l")
    found_g, _ = lookup("xl", WIDTH, "clip_g")
    assert torch.equal(found_l, clip_l) and torch.equal(found_g, clip_g)
    c = tiny_sd_components("sdxl")
    clip = CLIP([c["text_encoder"], c["text_encoder_2"]], [c["tokenizer"], c["tokenizer_2"]], "sdxl")
    with_embedding, _ = clip.encode("a embedding:xl cat")
    without, _ = clip.encode("a cat")
    assert with_embedding.shape == (1, 77, 64)
    assert not torch.equal(with_embedding, without)


def test_missing_embedding_warns_and_is_skipped(embeddings_dir, sd1, caplog):
    clip = CLIP([sd1["text_encoder"]], [sd1["tokenizer"]], "sd1")
    with caplog.at_level(logging.WARNING):
        cond, _ = clip.encode("a embedding:nowhere cat")
    assert "embedding:nowhere" in caplog.text
    expected, _ = clip.encode("a cat")
    assert torch.equal(cond, expected)


def test_punctuation_after_the_name_is_kept_as_text(embeddings_dir, sd1):
    vecs = vectors(6)
    save_file({"emb_params": vecs}, str(embeddings_dir / "mystyle.safetensors"))
    found, leftover = lookup("mystyle,", WIDTH)
    assert torch.equal(found, vecs) and leftover == ","
    clip = CLIP([sd1["text_encoder"]], [sd1["tokenizer"]], "sd1")
    cond, _ = clip.encode("a embedding:mystyle, cat")
    torch.testing.assert_close(cond, reference_encoding(sd1, "a", vecs, ", cat"), atol=1e-5, rtol=0)


def test_wrong_width_is_ignored_with_a_warning(embeddings_dir, sd1, caplog):
    save_file({"emb_params": vectors(7, width=16)}, str(embeddings_dir / "narrow.safetensors"))
    clip = CLIP([sd1["text_encoder"]], [sd1["tokenizer"]], "sd1")
    with caplog.at_level(logging.WARNING):
        cond, _ = clip.encode("a embedding:narrow cat")
    assert "narrow" in caplog.text
    assert torch.equal(cond, clip.encode("a cat")[0])


def test_names_cannot_leave_the_embeddings_folder(embeddings_dir, caplog):
    (embeddings_dir.parent / "secret.safetensors").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        found, _ = lookup("../secret", WIDTH)
    assert found is None
