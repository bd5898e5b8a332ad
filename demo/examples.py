"""Write the example input pictures the demo workflows load: python -m demo.examples

- input/demo_shapes.png: a scene for img2img;
- input/demo_inpaint.png: the same scene with its left half (the square) transparent;
  LoadImage turns transparency into the MASK that marks what to repaint.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from demo.render import render
from demo.scenes import Scene

REPO = Path(__file__).resolve().parent.parent
IMG2IMG_SCENE = Scene("square", "blue", "large", ("middle", "left"), "plain", ("white",))


def inpaint_example(image: Image.Image) -> Image.Image:
    """The image with alpha 0 (repaint) on its left half and 255 (keep) on the right."""
    rgba = image.convert("RGBA")
    width, height = rgba.size
    alpha = Image.new("L", rgba.size, 255)
    alpha.paste(0, (0, 0, width // 2, height))
    rgba.putalpha(alpha)
    return rgba


def main(folder: Path = REPO / "input") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    image = render(IMG2IMG_SCENE)
    image.save(folder / "demo_shapes.png")
    inpaint_example(image).save(folder / "demo_inpaint.png")
    print(f"wrote {folder / 'demo_shapes.png'} and {folder / 'demo_inpaint.png'}")


if __name__ == "__main__":
    main()
