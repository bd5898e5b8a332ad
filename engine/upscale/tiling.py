"""Run an image-to-image network over overlapping tiles and join the results.

Each tile sees `overlap` pixels of context on every side it shares with a
neighbour. Where two tiles overlap, the outer quarter of the overlap on each
tile's side is ignored (the pixels that miss context beyond the tile edge), and
the middle half fades from one tile to the other. The weights along each axis
sum to one, so nothing but the output is held at full size: a 2048 px image x4
needs the 8192 px output and one tile's activations.
"""
from __future__ import annotations

import math

import torch


def tile_spans(length: int, tile: int, overlap: int, align: int = 1) -> list[tuple[int, int]]:
    """(start, end) of tiles covering `length`; starts are multiples of `align`, the last tile ends at
    the edge (one that had to start a little early to stay aligned is up to align - 1 longer)."""
    if length <= tile:
        return [(0, length)]
    stride = max(align, (tile - overlap) // align * align)
    count = math.ceil((length - tile) / stride) + 1
    starts = sorted({min(i * stride, length - tile) // align * align for i in range(count)})
    return [(start, min(start + tile, length)) for start in starts[:-1]] + [(starts[-1], length)]


def _edge(weights: torch.Tensor, shared: int, scale: int, at_start: bool) -> None:
    """Zero the outer quarter of a `shared`-pixel overlap and ramp across its middle half, in place."""
    dead, ramp = (shared // 4) * scale, (shared - 2 * (shared // 4)) * scale
    values = torch.cat([torch.zeros(dead), (torch.arange(ramp, dtype=torch.float32) + 0.5) / max(ramp, 1)])
    values = values[:weights.numel()]
    if at_start:
        weights[:values.numel()] *= values
    else:
        weights[weights.numel() - values.numel():] *= values.flip(0)


def axis_weights(length: int, spans: list[tuple[int, int]], scale: int) -> list[torch.Tensor]:
    """One 1-D weight vector (output pixels) per tile along an axis; they sum to one everywhere."""
    weights = []
    for index, (start, end) in enumerate(spans):
        vector = torch.ones((end - start) * scale)
        if index > 0:
            _edge(vector, spans[index - 1][1] - start, scale, at_start=True)
        if index + 1 < len(spans):
            _edge(vector, end - spans[index + 1][0], scale, at_start=False)
        weights.append(vector)
    total = _sum(length * scale, spans, weights, scale)
    if (total == 0).any():  # odd tile geometry left a gap: let every tile count there
        gap = total == 0
        for (start, _end), vector in zip(spans, weights):
            vector += gap[start * scale:start * scale + vector.numel()].float()
        total = _sum(length * scale, spans, weights, scale)
    return [vector / total[start * scale:start * scale + vector.numel()]
            for (start, _end), vector in zip(spans, weights)]


def _sum(size: int, spans, weights, scale: int) -> torch.Tensor:
    total = torch.zeros(size)
    for (start, _end), vector in zip(spans, weights):
        total[start * scale:start * scale + vector.numel()] += vector
    return total


def tile_count(height: int, width: int, tile: int, overlap: int, align: int = 1) -> int:
    return len(tile_spans(height, tile, overlap, align)) * len(tile_spans(width, tile, overlap, align))


def run_tiled(fn, image: torch.Tensor, scale: int, out_channels: int, tile: int, overlap: int,
              progress=None, done_before: int = 0, total: int | None = None, output=None,
              align: int = 1) -> torch.Tensor:
    """fn over tiles of one image [1,C,H,W] -> [1,H*scale,W*scale,out_channels] float32 on the CPU.

    fn takes and returns CPU tensors [1,C,h,w] -> [1,out_channels,h*scale,w*scale].
    progress(done, total) runs after each tile (it may raise to interrupt). `output`, when given,
    is the zeroed [1,H*scale,W*scale,out_channels] tensor to fill. Tiles start at multiples of
    `align` (a pixel-unshuffling network must see the same 2x2 / 4x4 blocks as on the whole image).
    """
    _, _, height, width = image.shape
    overlap = min(overlap, tile // 2)
    ys, xs = tile_spans(height, tile, overlap, align), tile_spans(width, tile, overlap, align)
    wy, wx = axis_weights(height, ys, scale), axis_weights(width, xs, scale)
    total = total if total is not None else len(ys) * len(xs)
    if output is None:
        output = torch.zeros(1, height * scale, width * scale, out_channels)
    done = done_before
    for (y, y_end), weight_y in zip(ys, wy):
        for (x, x_end), weight_x in zip(xs, wx):
            piece = fn(image[:, :, y:y_end, x:x_end])
            mask = (weight_y[:, None] * weight_x[None, :])[None, :, :, None]
            oy, ox = y * scale, x * scale
            output[:, oy:oy + mask.shape[1], ox:ox + mask.shape[2]] += piece.permute(0, 2, 3, 1) * mask
            done += 1
            if progress is not None:
                progress(done, total)
    return output
