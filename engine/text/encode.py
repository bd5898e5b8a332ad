"""Turn a weighted prompt into CLIP hidden states, the way ComfyUI does.

1. The prompt is split into (text, weight) segments (prompt_weights) and each
   space-separated word is tokenized on its own; "embedding:name" words become
   textual-inversion vectors.
2. Tokens are packed into chunks of 75, each framed by the start and end token and
   padded to 77. A word of fewer than 8 tokens that does not fit moves whole to
   the next chunk; longer words are split.
3. All chunks run through the encoder in one batch, plus the empty prompt when any
   weight is not 1. A weighted token's state is moved away from the empty prompt's
   state at the same position: z = z_empty + (z - z_empty) * weight.
4. Chunks are joined on the token axis; the pooled output is the first chunk's.
"""
from __future__ import annotations

import torch

from engine.text import embeddings
from engine.text.prompt_weights import parse_weights

CHUNK_TOKENS = 75
MAX_WORD_TOKENS = 8
# Stand-in id for positions that carry an embedding vector; any ordinary token
# below the end token keeps CLIP's end-of-text pooling position unchanged.
_EMBEDDING_PLACEHOLDER = 0


def tokenize(text: str, tokenizer, embedding_width: int | None = None,
             embedding_key: str | None = None) -> list[list[tuple]]:
    """Chunks of 77 (token, weight) pairs; a token is an int id or a vector tensor [D]."""
    words = _weighted_words(text, tokenizer, embedding_width, embedding_key)
    return _chunk(words, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id)


def _weighted_words(text, tokenizer, embedding_width, embedding_key) -> list[list[tuple]]:
    words = []
    for segment, weight in parse_weights(text):
        for word in segment.replace("\n", " ").split(" "):
            if not word:
                continue
            if word.startswith(embeddings.PREFIX) and embedding_width:
                vectors, word = embeddings.lookup(word[len(embeddings.PREFIX):], embedding_width, embedding_key)
                if vectors is not None:
                    words.append([(vector, weight) for vector in vectors])
                if not word:
                    continue
            ids = tokenizer(word, add_special_tokens=False)["input_ids"]
            if ids:
                words.append([(token, weight) for token in ids])
    return words


def _chunk(words, start: int, end: int, pad: int) -> list[list[tuple]]:
    limit = CHUNK_TOKENS + 1  # room for the start token; the end token comes on top
    chunks, current = [], [(start, 1.0)]

    def close(chunk):
        chunk.append((end, 1.0))
        chunk.extend([(pad, 1.0)] * (CHUNK_TOKENS + 2 - len(chunk)))
        chunks.append(chunk)

    for word in words:
        is_long = len(word) >= MAX_WORD_TOKENS
        while word:
            room = limit - len(current)
            if len(word) <= room:
                current.extend(word)
                word = []
            elif is_long:
                current.extend(word[:room])
                word = word[room:]
                close(current)
                current = [(start, 1.0)]
            else:
                close(current)
                current = [(start, 1.0)]
    close(current)
    return chunks


def empty_chunk(tokenizer) -> list[tuple]:
    return _chunk([], tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id)[0]


def encode_chunks(encoder, tokenizer, chunks, layer_idx: int = -1, final_norm: bool = True):
    """(cond [1, 77 * len(chunks), D], pooled [1, P]) float32 on the CPU.

    layer_idx picks hidden_states[layer_idx]; final_norm applies the encoder's final
    layer norm to it (with layer_idx -1 that is last_hidden_state). pooled is the
    projected text_embeds when the encoder has a projection, else pooler_output.
    """
    weights = torch.tensor([[w for _, w in chunk] for chunk in chunks], dtype=torch.float32)
    has_weights = bool((weights != 1.0).any())
    rows = list(chunks) + ([empty_chunk(tokenizer)] if has_weights else [])

    device = next(encoder.parameters()).device
    ids, vectors = _ids_and_vectors(rows)
    text_model = getattr(encoder, "text_model", encoder)
    with torch.no_grad(), _inserted_vectors(text_model.embeddings.token_embedding, vectors):
        out = encoder(input_ids=ids.to(device), output_hidden_states=True)
        hidden = out.hidden_states[layer_idx]
        if final_norm:
            hidden = text_model.final_layer_norm(hidden)
    hidden = hidden.float().cpu()
    pooled = getattr(out, "text_embeds", None)
    if pooled is None:
        pooled = getattr(out, "pooler_output", None)
    pooled = pooled[0:1].float().cpu() if pooled is not None else None

    z = hidden[:len(chunks)]
    if has_weights:
        z_empty = hidden[-1:]
        w = weights.unsqueeze(-1)
        z = torch.where(w != 1.0, z_empty + (z - z_empty) * w, z)
    return z.reshape(1, -1, z.shape[-1]), pooled


def _ids_and_vectors(rows):
    """Token id tensor [N, 77] and {(row, position): vector} for embedding positions."""
    ids, vectors = [], {}
    for r, row in enumerate(rows):
        row_ids = []
        for p, (token, _) in enumerate(row):
            if isinstance(token, torch.Tensor):
                vectors[(r, p)] = token
                row_ids.append(_EMBEDDING_PLACEHOLDER)
            else:
                row_ids.append(int(token))
        ids.append(row_ids)
    return torch.tensor(ids, dtype=torch.long), vectors


class _inserted_vectors:
    """While active, the token embedding layer outputs the given vectors at their positions."""

    def __init__(self, token_embedding, vectors):
        self.token_embedding = token_embedding
        self.vectors = vectors
        self.handle = None

    def _replace(self, module, inputs, output):
        output = output.clone()
        for (row, position), vector in self.vectors.items():
            output[row, position] = vector.to(device=output.device, dtype=output.dtype)
        return output

    def __enter__(self):
        if self.vectors:
            self.handle = self.token_embedding.register_forward_hook(self._replace)
        return self

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.remove()
        return False
