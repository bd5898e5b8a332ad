"""CLIP tokenizers built offline from the BPE vocabulary shipped in engine/text/data.

The file bpe_simple_vocab_16e6.txt.gz (from open_clip, MIT, see data/NOTICE) lists
the BPE merges. The token vocabulary follows from it: the 256 byte symbols, the same
with the end-of-word mark "</w>", one token per merge, then the two special tokens:
49,408 entries in all.

OpenAI CLIP-L pads with the end token; OpenCLIP-H (SD2) and OpenCLIP-bigG (SDXL's
second encoder) pad with "!" (id 0), as their diffusers tokenizers and ComfyUI do:

    SD1:  [clip_tokenizer()]
    SD2:  [openclip_tokenizer()]
    SDXL: [clip_tokenizer(), openclip_tokenizer()]
"""
from __future__ import annotations

import functools
import gzip
from importlib import resources

START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
MAX_LENGTH = 77
_MERGE_COUNT = 49152 - 256 - 2


def _byte_symbols() -> list[str]:
    """The printable stand-in character for each byte 0..255 (byte-level BPE's alphabet).

    Printable Latin-1 bytes stand for themselves; the others are mapped, in byte
    order, to the code points from 256 upwards.
    """
    printable = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAC + 1)) | set(range(0xAE, 0xFF + 1))
    symbols, extra = [], 0
    for byte in range(256):
        if byte in printable:
            symbols.append(chr(byte))
        else:
            symbols.append(chr(256 + extra))
            extra += 1
    return symbols


def _ordered_byte_symbols() -> list[str]:
    """Byte symbols in CLIP's vocabulary order: printable bytes first, then the rest."""
    symbols = _byte_symbols()
    printable = [s for b, s in enumerate(symbols) if ord(s) == b]
    others = [s for b, s in enumerate(symbols) if ord(s) != b]
    return printable + others


@functools.lru_cache(maxsize=1)
def vocabulary() -> tuple[dict[str, int], tuple[str, ...]]:
    """(token -> id, merges as "a b" strings), read once from the shipped file."""
    data = resources.files("engine.text").joinpath("data", "bpe_simple_vocab_16e6.txt.gz")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        text = lines.read()
    merges = tuple(text.split("\n")[1:1 + _MERGE_COUNT])
    tokens = _ordered_byte_symbols()
    tokens += [t + "</w>" for t in tokens]
    tokens += ["".join(m.split(" ")) for m in merges]
    tokens += [START_TOKEN, END_TOKEN]
    return {token: i for i, token in enumerate(tokens)}, merges


def clip_tokenizer(pad_token: str = END_TOKEN):
    """A transformers CLIPTokenizer (max length 77) with the CLIP vocabulary."""
    from transformers import CLIPTokenizer

    vocab, merges = vocabulary()
    return CLIPTokenizer(
        vocab=dict(vocab),
        merges=[tuple(m.split(" ")) for m in merges],
        unk_token=END_TOKEN,
        bos_token=START_TOKEN,
        eos_token=END_TOKEN,
        pad_token=pad_token,
        model_max_length=MAX_LENGTH,
    )


def openclip_tokenizer():
    """The tokenizer of OpenCLIP-H / bigG: the same vocabulary, padded with "!" (id 0)."""
    return clip_tokenizer(pad_token="!")
