"""The CLIP value passed between nodes: text encoders, their tokenizers and options.

A CLIP is cheap to clone. Clones share the encoder weights and carry their own
`layer_idx` (CLIPSetLastLayer) and their own weight patches (LoRA), which are
applied only while encoding.

Which hidden layer becomes the conditioning (as in ComfyUI):

- sd1:  last layer, final layer norm applied (`last_hidden_state`).
- sd2:  penultimate layer of the 24-layer OpenCLIP-H, final layer norm applied. An
        encoder with 23 layers (diffusers' SD2 folders are already cut) uses its last.
- sdxl: penultimate layer of each encoder, no final layer norm; the L and bigG
        states are joined on the last axis; pooled = bigG's projected `text_embeds`.

`layer_idx` (a negative int, -1 = last layer) picks `hidden_states[layer_idx]`
instead; the final layer norm follows the same per-arch rule. In diffusers' terms
`clip_skip=k` equals `layer_idx=-(k + 1)` for SD1/SD2 and `layer_idx=-(k + 2)` for SDXL.
"""
from __future__ import annotations

import contextlib

import torch

from engine.patching import apply_patches

from engine.text import encode as text_encode


def _family(arch: str) -> str:
    if arch.startswith("sdxl"):
        return "sdxl"
    if arch.startswith("sd2"):
        return "sd2"
    return "sd1"


class CLIP:
    def __init__(self, text_encoders, tokenizers, arch: str):
        text_encoders = list(text_encoders)
        tokenizers = list(tokenizers)
        if len(text_encoders) != len(tokenizers) or not text_encoders:
            raise ValueError("CLIP needs one tokenizer per text encoder")
        self.text_encoders = text_encoders
        self.tokenizers = tokenizers
        self.arch = arch
        self.layer_idx: int | None = None
        self.patches: list[dict] = [{} for _ in text_encoders]

    @property
    def nbytes(self) -> int:
        """Size of the text encoders' weights; lets caches size a CLIP without walking it."""
        from engine.model_cache import weights_bytes

        return weights_bytes(self.text_encoders)

    def clone(self) -> "CLIP":
        other = CLIP.__new__(CLIP)
        other.text_encoders = self.text_encoders
        other.tokenizers = self.tokenizers
        other.arch = self.arch
        other.layer_idx = self.layer_idx
        other.patches = [{name: list(entries) for name, entries in p.items()} for p in self.patches]
        return other

    def add_patches(self, patches_per_encoder, strength: float) -> None:
        for target, patches in zip(self.patches, patches_per_encoder):
            for name, patch in (patches or {}).items():
                target.setdefault(name, []).append((float(strength), patch))

    # ---- encoding ---------------------------------------------------------

    def encode(self, text: str):
        """Encode one prompt (weighting syntax and embeddings allowed) with every encoder.

        Returns (cond [1, T, D], pooled [1, P] or None), float32 on the CPU.
        """
        return self.encode_each([text] * len(self.text_encoders))

    def encode_each(self, texts) -> tuple:
        """Encode a separate prompt per encoder (SDXL: [text_l, text_g]).

        Encoders whose prompts need fewer 77-token chunks get empty chunks added so
        that the token axes line up, as ComfyUI's CLIPTextEncodeSDXL does.
        """
        texts = list(texts)
        if len(texts) != len(self.text_encoders):
            raise ValueError(f"expected {len(self.text_encoders)} prompts, one per text encoder, got {len(texts)}")
        chunked = [text_encode.tokenize(text, tok, self._embedding_width(i), self._embedding_key(i))
                   for i, (text, tok) in enumerate(zip(texts, self.tokenizers))]
        most = max(len(chunks) for chunks in chunked)
        for i, chunks in enumerate(chunked):
            while len(chunks) < most:
                chunks.extend(text_encode.tokenize("", self.tokenizers[i], None, None))

        conds, pooled = [], None
        for i, chunks in enumerate(chunked):
            layer_idx, normalize = self._layer_choice(i)
            with self._ready_encoder(i) as encoder:
                cond, pooled_i = text_encode.encode_chunks(
                    encoder, self.tokenizers[i], chunks, layer_idx, normalize)
            conds.append(cond)
            if pooled_i is not None:
                pooled = pooled_i
        if len(conds) == 1:
            return conds[0], pooled
        cut = min(c.shape[1] for c in conds)
        return torch.cat([c[:, :cut] for c in conds], dim=-1), pooled

    def _layer_choice(self, index: int) -> tuple[int, bool]:
        """(hidden_states index, apply final layer norm) for encoder `index`."""
        family = _family(self.arch)
        layers = int(self.text_encoders[index].config.num_hidden_layers)
        if family == "sdxl":
            default, normalize = -2, False
        elif family == "sd2":
            default, normalize = (-2 if layers >= 24 else -1), True
        else:
            default, normalize = -1, True
        idx = default if self.layer_idx is None else int(self.layer_idx)
        if idx >= 0 or -idx > layers:
            idx = -1
        return idx, normalize

    def _embedding_width(self, index: int) -> int:
        return int(self.text_encoders[index].config.hidden_size)

    def _embedding_key(self, index: int) -> str | None:
        """Which part of a multi-encoder (SDXL) embedding file belongs to this encoder."""
        if len(self.text_encoders) == 1:
            return "clip_g" if self.arch == "sdxl_refiner" else None
        return ("clip_l", "clip_g")[index] if index < 2 else None

    @contextlib.contextmanager
    def _ready_encoder(self, index: int):
        """Yield encoder `index` on the compute device with this CLIP's patches applied."""
        encoder = self.text_encoders[index]
        old_device = next(encoder.parameters()).device
        device = _compute_device()
        moved = device is not None and device != old_device
        if moved:
            encoder.to(device)
        try:
            with apply_patches(encoder, self.patches[index]):
                yield encoder
        finally:
            if moved:
                encoder.to(old_device)


def _compute_device():
    from engine import devices

    return devices.torch_device()
