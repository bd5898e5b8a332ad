"""The demo dataset's vocabulary, random scenes and their captions.

A scene is one coloured shape of a given size at one of nine grid positions,
over a plain, two-colour or gradient background. Captions are plain English:
"a small red circle at the top left on a blue background". Some captions leave
out the size, the position or the background, so short prompts work too.

Colour x shape x position combinations listed by `held_out()` never appear in
training; bench/eval_demo.py draws exactly those to measure generalisation.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

# Foreground colours: eight hues far enough apart to classify by hue alone.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 215, 40),
    "green": (50, 170, 70),
    "cyan": (40, 200, 215),
    "blue": (45, 80, 220),
    "purple": (140, 60, 200),
    "pink": (245, 120, 185),
}
# Backgrounds may also be neutral.
NEUTRALS: dict[str, tuple[int, int, int]] = {
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "gray": (128, 128, 128),
}
BACKGROUND_COLOURS = {**COLOURS, **NEUTRALS}

SHAPES = ("circle", "square", "triangle", "star", "diamond", "cross")

# Diameter of the shape as a fraction of the image side.
SIZES = {"small": 0.24, "medium": 0.34, "large": 0.46}

ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")
# Centre of each grid cell as a fraction of the image side.
GRID = {"top": 0.25, "middle": 0.5, "bottom": 0.75, "left": 0.25, "centre": 0.5, "right": 0.75}

POSITION_PHRASES = {
    ("top", "left"): "at the top left",
    ("top", "centre"): "at the top",
    ("top", "right"): "at the top right",
    ("middle", "left"): "on the left",
    ("middle", "centre"): "in the centre",
    ("middle", "right"): "on the right",
    ("bottom", "left"): "at the bottom left",
    ("bottom", "centre"): "at the bottom",
    ("bottom", "right"): "at the bottom right",
}
POSITIONS = tuple(POSITION_PHRASES)

BACKGROUND_KINDS = ("plain", "split", "gradient")


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    size: str
    position: tuple[str, str]  # (row, column)
    background: str  # "plain", "split" or "gradient"
    background_colours: tuple[str, ...]  # one, or two for split and gradient
    jitter: tuple[float, float] = (0.0, 0.0)  # small offset of the centre, fraction of the side
    vertical_split: bool = True


def held_out() -> set[tuple[str, str, tuple[str, str]]]:
    """(colour, shape, position) triples kept out of training: one position per colour-shape pair.

    The position cycles so every position is held out for some pairs and every
    pair is still seen at the other eight positions.
    """
    triples = set()
    for c, colour in enumerate(COLOURS):
        for s, shape in enumerate(SHAPES):
            triples.add((colour, shape, POSITIONS[(c * 5 + s * 2) % len(POSITIONS)]))
    return triples


def random_scene(rng: random.Random, exclude: set | None = None) -> Scene:
    """A random training scene; `exclude` holds colour-shape-position triples to avoid."""
    while True:
        colour = rng.choice(list(COLOURS))
        shape = rng.choice(SHAPES)
        position = rng.choice(POSITIONS)
        if not exclude or (colour, shape, position) not in exclude:
            break
    others = [name for name in BACKGROUND_COLOURS if name != colour]
    kind = rng.choices(BACKGROUND_KINDS, weights=(6, 2, 2))[0]
    if kind == "plain":
        background_colours = (rng.choice(others),)
    else:
        background_colours = tuple(rng.sample(others, 2))
    return Scene(
        shape=shape,
        colour=colour,
        size=rng.choice(list(SIZES)),
        position=position,
        background=kind,
        background_colours=background_colours,
        jitter=(rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03)),
        vertical_split=rng.random() < 0.5,
    )


def with_article(text: str) -> str:
    return ("an " if text[0] in "aeiou" else "a ") + text


def background_phrase(scene: Scene) -> str:
    names = scene.background_colours
    if scene.background == "plain":
        return "on " + with_article(f"{names[0]} background")
    if scene.background == "split":
        return "on " + with_article(f"{names[0]} and {names[1]} background")
    return "on " + with_article(f"{names[0]} to {names[1]} gradient")


def caption(scene: Scene, rng: random.Random | None = None) -> str:
    """The scene in words; with `rng`, sometimes shorter or with a variant spelling."""
    size = scene.size
    position = POSITION_PHRASES[scene.position]
    background = background_phrase(scene)
    if rng is not None:
        if rng.random() < 0.2:
            size = ""
        if rng.random() < 0.1:
            position = ""
        if rng.random() < 0.2:
            background = ""
        if rng.random() < 0.3:
            position = position.replace("centre", "center")
            background = background.replace("gray", "grey")
    words = [word for word in (size, scene.colour, scene.shape, position, background) if word]
    return with_article(" ".join(words))
