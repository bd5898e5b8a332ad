"""The CLIP tokenizer built offline from the shipped BPE vocabulary."""
import gzip
from importlib import resources

from engine.text.tokenizer import clip_tokenizer, openclip_tokenizer, vocabulary


def test_vocabulary_has_49408_entries_with_special_tokens_last():
    vocab, merges = vocabulary()
    assert len(vocab) == 49408 and len(merges) == 48894
    assert vocab["<|startoftext|>"] == 49406 and vocab["<|endoftext|>"] == 49407
    assert vocab["!"] == 0 and vocab["!</w>"] == 256
    assert sorted(vocab.values()) == list(range(49408))


def test_known_prompt_ids():
    # Ids of OpenAI CLIP's tokenizer for this prompt (a widely published example).
    ids = clip_tokenizer()("a photo of a cat").input_ids
    assert ids == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_round_trip_and_lowercase():
    tokenizer = clip_tokenizer()
    ids = tokenizer("An Astronaut, riding a horse!").input_ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == "an astronaut , riding a horse !"


def test_padding_tokens_differ_between_clip_and_openclip():
    clip = clip_tokenizer()("cat", padding="max_length").input_ids
    open_clip = openclip_tokenizer()("cat", padding="max_length").input_ids
    assert len(clip) == len(open_clip) == 77
    assert clip[:3] == open_clip[:3]
    assert clip[3:] == [49407] * 74
    assert open_clip[3:] == [0] * 74


def test_model_max_length_truncates_long_prompts():
    tokenizer = clip_tokenizer()
    ids = tokenizer("cat " * 200, truncation=True, padding="max_length").input_ids
    assert tokenizer.model_max_length == 77 and len(ids) == 77 and ids[-1] == 49407


def test_vocabulary_comes_from_the_shipped_file():
    data = resources.files("engine.text").joinpath("data", "bpe_simple_vocab_16e6.txt.gz")
    with data.open("rb") as raw:
        first_lines = gzip.decompress(raw.read()).decode("utf-8").split("\n")[:2]
    assert first_lines[1] == "i n"
    vocabulary.cache_clear()
    vocab, merges = vocabulary()
    assert merges[0] == "i n" and vocab["in"] == 512
