"""ComfyUI's prompt weighting syntax, parsed into (text, weight) segments.

    (word)        weight x1.1; nesting multiplies: ((word)) -> 1.21
    (word:1.3)    weight 1.3 exactly (an explicit weight replaces the outer one,
                  as in ComfyUI: ((word:1.3)) -> 1.3, ((word:1.3) more) -> 1.3 and 1.1)
    \\( \\)        literal parentheses
    [word]        nothing special: square brackets are plain text in ComfyUI

Unbalanced parentheses never fail: an unclosed "(" or a stray ")" stays in the
text as a literal character.
"""
from __future__ import annotations

_ESCAPED_OPEN = "\0\1"
_ESCAPED_CLOSE = "\0\2"


def parse_weights(text: str, weight: float = 1.0) -> list[tuple[str, float]]:
    """Split a prompt into consecutive (text, weight) segments; empty segments are dropped."""
    text = text.replace("\\(", _ESCAPED_OPEN).replace("\\)", _ESCAPED_CLOSE)
    segments = _parse(text, weight)
    out = []
    for segment, seg_weight in segments:
        segment = segment.replace(_ESCAPED_OPEN, "(").replace(_ESCAPED_CLOSE, ")")
        if segment:
            out.append((segment, seg_weight))
    return out


def _parse(text: str, weight: float) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for piece, is_group in _top_level_groups(text):
        if not is_group:
            out.append((piece, weight))
            continue
        inner = piece[1:-1]
        inner_weight = weight * 1.1
        colon = inner.rfind(":")
        if colon > 0:
            explicit = _as_float(inner[colon + 1:])
            if explicit is not None:
                inner, inner_weight = inner[:colon], explicit
        out.extend(_parse(inner, inner_weight))
    return out


def _top_level_groups(text: str) -> list[tuple[str, bool]]:
    """Split text into plain runs and balanced "( ... )" groups at nesting level 0."""
    pieces: list[tuple[str, bool]] = []
    plain_start = 0
    i = 0
    while i < len(text):
        if text[i] == "(":
            end = _matching_close(text, i)
            if end is None:  # unclosed: the rest is plain text
                break
            if i > plain_start:
                pieces.append((text[plain_start:i], False))
            pieces.append((text[i:end + 1], True))
            i = plain_start = end + 1
            continue
        i += 1
    if plain_start < len(text):
        pieces.append((text[plain_start:], False))
    return pieces


def _matching_close(text: str, open_at: int) -> int | None:
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


def _as_float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
