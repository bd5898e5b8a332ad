"""CLIP.encode against diffusers' encode_prompt, and ComfyUI's chunking/weighting rules."""
import pytest
import torch

from engine.clip import CLIP
from tests.tiny_models import tiny_clip_text, tiny_sd_components, tiny_tokenizer

PROMPT = "a photo of an astronaut riding a horse"


@pytest.fixture(scope="module")
def sd1():
    return tiny_sd_components("sd1")


@pytest.fixture(scope="module")
def sdxl():
    return tiny_sd_components("sdxl")


def sd1_clip(components):
    return CLIP([components["text_encoder"]], [components["tokenizer"]], "sd1")


def sdxl_clip(components):
    return CLIP([components["text_encoder"], components["text_encoder_2"]],
                [components["tokenizer"], components["tokenizer_2"]], "sdxl")


def sd_pipeline(components):
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    return StableDiffusionPipeline(
        vae=components["vae"], text_encoder=components["text_encoder"], tokenizer=components["tokenizer"],
        unet=components["unet"], scheduler=DDIMScheduler(clip_sample=False, set_alpha_to_one=False, steps_offset=1), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False)


def sdxl_pipeline(components):
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline

    return StableDiffusionXLPipeline(
        vae=components["vae"], text_encoder=components["text_encoder"],
        text_encoder_2=components["text_encoder_2"], tokenizer=components["tokenizer"],
        tokenizer_2=components["tokenizer_2"], unet=components["unet"], scheduler=EulerDiscreteScheduler())


def test_sd1_matches_diffusers_encode_prompt(sd1):
    expected, _ = sd_pipeline(sd1).encode_prompt(PROMPT, "cpu", 1, False)
    cond, pooled = sd1_clip(sd1).encode(PROMPT)
    assert cond.shape == (1, 77, 32) and cond.dtype == torch.float32
    torch.testing.assert_close(cond, expected.float(), atol=1e-5, rtol=0)
    # pooled: the final layer's state at the end token
    ids = sd1["tokenizer"](PROMPT, padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        reference_pooled = sd1["text_encoder"](ids).pooler_output
    torch.testing.assert_close(pooled, reference_pooled, atol=1e-5, rtol=0)


def test_sd2_matches_diffusers_encode_prompt():
    components = tiny_sd_components("sd2")
    assert components["tokenizer"].pad_token_id == 0
    expected, _ = sd_pipeline(components).encode_prompt(PROMPT, "cpu", 1, False)
    cond, _ = CLIP([components["text_encoder"]], [components["tokenizer"]], "sd2").encode(PROMPT)
    torch.testing.assert_close(cond, expected.float(), atol=1e-5, rtol=0)


def test_sdxl_matches_diffusers_encode_prompt(sdxl):
    embeds, _, pooled_embeds, _ = sdxl_pipeline(sdxl).encode_prompt(PROMPT, device="cpu", do_classifier_free_guidance=False)
    cond, pooled = sdxl_clip(sdxl).encode(PROMPT)
    assert cond.shape == (1, 77, 64)
    torch.testing.assert_close(cond, embeds.float(), atol=1e-5, rtol=0)
    torch.testing.assert_close(pooled, pooled_embeds.float(), atol=1e-5, rtol=0)


def test_sdxl_separate_prompts_match_diffusers_prompt_2(sdxl):
    embeds, _, pooled_embeds, _ = sdxl_pipeline(sdxl).encode_prompt(
        "a red cube", prompt_2="a blue sphere on grass", device="cpu", do_classifier_free_guidance=False)
    cond, pooled = sdxl_clip(sdxl).encode_each(["a red cube", "a blue sphere on grass"])
    torch.testing.assert_close(cond, embeds.float(), atol=1e-5, rtol=0)
    torch.testing.assert_close(pooled, pooled_embeds.float(), atol=1e-5, rtol=0)


def test_sd1_clip_skip_matches_diffusers(sd1):
    """CLIPSetLastLayer(-2) is diffusers' clip_skip=1 (penultimate layer + final layer norm)."""
    text_encoder = sd1["text_encoder"]
    ids = sd1["tokenizer"](PROMPT, padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():  # diffusers' clip_skip formula, written out (its code path needs text_model)
        hidden = text_encoder(ids, output_hidden_states=True).hidden_states[-(1 + 1)]
        expected = text_encoder.final_layer_norm(hidden)
    clip = sd1_clip(sd1).clone()
    clip.layer_idx = -2
    cond, _ = clip.encode(PROMPT)
    torch.testing.assert_close(cond, expected, atol=1e-5, rtol=0)
    default, _ = sd1_clip(sd1).encode(PROMPT)
    assert (cond - default).abs().max() > 1e-3


def four_layer_encoder(projection_dim=None, hidden_act="quick_gelu", seed=5):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(vocab_size=49408, hidden_size=32, intermediate_size=128, num_hidden_layers=4,
                            num_attention_heads=4, max_position_embeddings=77, hidden_act=hidden_act,
                            projection_dim=projection_dim or 32, bos_token_id=49406, eos_token_id=49407)
    torch.manual_seed(seed)
    return (CLIPTextModelWithProjection if projection_dim else CLIPTextModel)(config).eval()


def test_sdxl_clip_skip_matches_diffusers(sdxl):
    """For SDXL, layer_idx=-(clip_skip + 2): diffusers' clip_skip=1 is hidden_states[-3]."""
    components = dict(sdxl, text_encoder=four_layer_encoder(),
                      text_encoder_2=four_layer_encoder(projection_dim=32, hidden_act="gelu", seed=6))
    expected, _, expected_pooled, _ = sdxl_pipeline(components).encode_prompt(
        PROMPT, device="cpu", do_classifier_free_guidance=False, clip_skip=1)
    clip = sdxl_clip(components).clone()
    clip.layer_idx = -3
    cond, pooled = clip.encode(PROMPT)
    torch.testing.assert_close(cond, expected.float(), atol=1e-5, rtol=0)
    torch.testing.assert_close(pooled, expected_pooled.float(), atol=1e-5, rtol=0)


def test_long_prompt_is_chunked_into_77_token_pieces(sd1):
    words = ["cat"] * 100  # one token each
    cond, pooled = sd1_clip(sd1).encode(" ".join(words))
    assert cond.shape == (1, 154, 32)
    tokenizer = sd1["tokenizer"]
    cat = tokenizer("cat", add_special_tokens=False).input_ids
    first = [tokenizer.bos_token_id] + cat * 75 + [tokenizer.eos_token_id]
    second = [tokenizer.bos_token_id] + cat * 25 + [tokenizer.eos_token_id] + [tokenizer.pad_token_id] * 50
    with torch.no_grad():
        out = sd1["text_encoder"](torch.tensor([first, second]))
    torch.testing.assert_close(cond[0, :77], out.last_hidden_state[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(cond[0, 77:], out.last_hidden_state[1], atol=1e-5, rtol=0)
    torch.testing.assert_close(pooled, out.pooler_output[0:1], atol=1e-5, rtol=0)


def test_short_words_move_whole_to_the_next_chunk():
    from engine.text.encode import tokenize

    tokenizer = tiny_tokenizer()
    word = "photorealistic"  # several tokens
    size = len(tokenizer(word, add_special_tokens=False).input_ids)
    assert 1 < size < 8
    prompt = " ".join(["cat"] * 74 + [word])
    chunks = tokenize(prompt, tokenizer)
    assert len(chunks) == 2 and all(len(c) == 77 for c in chunks)
    assert [t for t, _ in chunks[0]][75] == tokenizer.eos_token_id  # 74 cats, then the end token
    assert [t for t, _ in chunks[1]][1:1 + size] == tokenizer(word, add_special_tokens=False).input_ids


def test_weights_change_only_the_weighted_positions(sd1):
    clip = sd1_clip(sd1)
    plain, plain_pooled = clip.encode("a red cube on a table")
    weighted, weighted_pooled = clip.encode("a (red cube:1.5) on a table")
    changed = (plain - weighted).abs().amax(dim=-1)[0]
    # positions: 0 start, 1 "a", 2 "red", 3 "cube", 4 "on", ...
    assert changed[2] > 1e-4 and changed[3] > 1e-4
    assert torch.all(changed[[0, 1, 4, 5, 6, 7]] == 0) and torch.all(changed[8:] == 0)
    torch.testing.assert_close(weighted_pooled, plain_pooled)


def test_weighting_interpolates_from_the_empty_prompt(sd1):
    tokenizer, encoder = sd1["tokenizer"], sd1["text_encoder"]
    weighted, _ = sd1_clip(sd1).encode("a (red:1.5) cube")
    pad = lambda ids: ids + [tokenizer.pad_token_id] * (77 - len(ids))  # noqa: E731
    ids = pad(tokenizer("a red cube").input_ids)
    empty = pad(tokenizer("").input_ids)
    with torch.no_grad():
        states = encoder(torch.tensor([ids, empty])).last_hidden_state
    z, z_empty = states[0], states[1]
    expected = z_empty[2] + (z[2] - z_empty[2]) * 1.5
    torch.testing.assert_close(weighted[0, 2], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(weighted[0, 1], z[1], atol=1e-5, rtol=0)


def test_empty_prompt_gives_one_chunk(sd1):
    cond, pooled = sd1_clip(sd1).encode("")
    assert cond.shape == (1, 77, 32) and pooled.shape == (1, 32)


def test_sd2_default_layer_is_penultimate_for_a_24_layer_encoder():
    clip = CLIP([tiny_clip_text(hidden_act="gelu")], [tiny_tokenizer("!")], "sd2")
    clip.text_encoders[0].config.num_hidden_layers = 24  # only the layer count matters to the choice
    assert clip._layer_choice(0) == (-2, True)
    clip.text_encoders[0].config.num_hidden_layers = 23
    assert clip._layer_choice(0) == (-1, True)


def test_clone_keeps_encoders_and_separates_options(sd1):
    clip = sd1_clip(sd1)
    other = clip.clone()
    other.layer_idx = -2
    other.add_patches([{"x": "patch"}], 0.5)
    assert clip.layer_idx is None and clip.patches == [{}]
    assert other.patches == [{"x": [(0.5, "patch")]}]
    assert other.text_encoders[0] is clip.text_encoders[0]
