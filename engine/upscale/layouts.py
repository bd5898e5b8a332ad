"""Recognise an RRDB (ESRGAN-family) state dict in any of its three key layouts and
rename it to RRDBNet's (BasicSR) names, reading the network's sizes from the tensors.

Layouts:
- BasicSR / Real-ESRGAN: conv_first, body.N.rdbK.convJ, conv_body, conv_upK, conv_hr, conv_last
- ESRGAN "new arch": conv_first, RRDB_trunk.N.RDBK.convJ, trunk_conv, upconvK, HRconv, conv_last
- ESRGAN original ("old arch"), one nn.Sequential: model.0 (first conv),
  model.1.sub.N.RDBK.convJ.0 (blocks), model.1.sub.<blocks> (trunk conv), then the
  upsampling convs, the HR conv and the last conv at increasing model.<i> indices.
"""
from __future__ import annotations

import re

from engine.errors import ModelError

_BASICSR_BLOCK = re.compile(r"^body\.(\d+)\.rdb([123])\.conv([1-5])\.(weight|bias)$")
_NEW_BLOCK = re.compile(r"^RRDB_trunk\.(\d+)\.RDB([123])\.conv([1-5])\.(weight|bias)$")
_OLD_BLOCK = re.compile(r"^model\.1\.sub\.(\d+)\.RDB([123])\.conv([1-5])\.0\.(weight|bias)$")
_OLD_TOP = re.compile(r"^model\.(\d+)\.(weight|bias)$")
_NEW_NAMES = {"trunk_conv": "conv_body", "HRconv": "conv_hr", "conv_first": "conv_first",
              "conv_last": "conv_last"}


def detect_layout(state: dict) -> str:
    if "conv_first.weight" in state and any(_BASICSR_BLOCK.match(k) for k in state):
        return "basicsr"
    if "conv_first.weight" in state and any(_NEW_BLOCK.match(k) for k in state):
        return "new"
    if "model.0.weight" in state and any(_OLD_BLOCK.match(k) for k in state):
        return "old"
    sample = ", ".join(sorted(state)[:4]) or "no tensors"
    raise ModelError("not an ESRGAN-family (RRDB) upscale model: none of the known key layouts match "
                     f"(keys start {sample}); Loom runs ESRGAN, Real-ESRGAN and their RRDB variants")


def to_basicsr(state: dict) -> tuple[dict, str]:
    """(state renamed to RRDBNet's names, the layout it came in)."""
    state = {key.removeprefix("module."): value for key, value in state.items()}
    layout = detect_layout(state)
    if layout == "basicsr":
        return state, layout
    if layout == "new":
        return _from_new(state), layout
    return _from_old(state), layout


def _from_new(state: dict) -> dict:
    out = {}
    for key, value in state.items():
        block = _NEW_BLOCK.match(key)
        name, _, suffix = key.rpartition(".")
        if block:
            index, rdb, conv, kind = block.groups()
            out[f"body.{index}.rdb{rdb}.conv{conv}.{kind}"] = value
        elif name in _NEW_NAMES:
            out[f"{_NEW_NAMES[name]}.{suffix}"] = value
        elif re.fullmatch(r"upconv\d+", name):
            out[f"conv_up{name[6:]}.{suffix}"] = value
        else:
            out[key] = value  # unknown: the strict load names it
    return out


def _from_old(state: dict) -> dict:
    out = {}
    blocks = 1 + max(int(m.group(1)) for m in map(_OLD_BLOCK.match, state) if m)
    tops = sorted({int(m.group(1)) for m in map(_OLD_TOP.match, state) if m and int(m.group(1)) >= 2})
    if len(tops) < 2:
        raise ModelError("ESRGAN (old layout): the HR and last convs (model.<i>.weight after model.1) are missing")
    names = {index: f"conv_up{n + 1}" for n, index in enumerate(tops[:-2])}
    names[tops[-2]], names[tops[-1]] = "conv_hr", "conv_last"
    names[0] = "conv_first"
    for key, value in state.items():
        block, top = _OLD_BLOCK.match(key), _OLD_TOP.match(key)
        if block:
            index, rdb, conv, kind = block.groups()
            out[f"body.{index}.rdb{rdb}.conv{conv}.{kind}"] = value
        elif key.startswith(f"model.1.sub.{blocks}."):
            out["conv_body." + key.rsplit(".", 1)[1]] = value
        elif top and int(top.group(1)) in names:
            out[f"{names[int(top.group(1))]}.{top.group(2)}"] = value
        else:
            out[key] = value
    return out


def network_sizes(state: dict) -> dict:
    """RRDBNet's keyword arguments, read from a state dict in BasicSR names."""
    try:
        first, last = state["conv_first.weight"], state["conv_last.weight"]
        growth = state["body.0.rdb1.conv1.weight"].shape[0]
    except KeyError as error:
        raise ModelError(f"RRDB model without {error.args[0]!r}") from None
    blocks = 1 + max(int(m.group(1)) for m in map(_BASICSR_BLOCK.match, state) if m)
    upsamples = sum(1 for key in state if re.fullmatch(r"conv_up\d+\.weight", key))
    out_channels, conv_in = int(last.shape[0]), int(first.shape[1])
    # Real-ESRGAN x2 / x1 models pixel-unshuffle by 2 / 4 first: 4x / 16x the image channels.
    unshuffle = {out_channels * 4: 2, out_channels * 16: 4}.get(conv_in, 1)
    return dict(in_channels=conv_in // (unshuffle * unshuffle), out_channels=out_channels,
                features=int(first.shape[0]), blocks=blocks, growth=int(growth), upsamples=upsamples,
                unshuffle=unshuffle)

