"""Logic and math nodes: ComfySwitchNode (lazy), ComfyMathExpression, ResolutionSelector."""
from __future__ import annotations

import math
import string

from nodes._tooltips import tooltips

EXPRESSION_NAMES = list(string.ascii_lowercase)
ASPECT_RATIOS = {
    "1:1 (Square)": (1, 1), "3:2 (Photo)": (3, 2), "4:3 (Standard)": (4, 3),
    "16:9 (Widescreen)": (16, 9), "21:9 (Ultrawide)": (21, 9), "2:3 (Portrait Photo)": (2, 3),
    "3:4 (Portrait Standard)": (3, 4), "9:16 (Portrait Widescreen)": (9, 16),
}


class ComfySwitchNode:
    """Only the chosen branch is evaluated: both value inputs are lazy."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "switch": ("BOOLEAN", {"tooltip": "True passes on_true through, false passes on_false."}),
            "on_false": ("*", {"lazy": True, "tooltip": "Used (and run) only when switch is false."}),
            "on_true": ("*", {"lazy": True, "tooltip": "Used (and run) only when switch is true."}),
        }}

    RETURN_TYPES = ("*",)
    RETURN_NAMES = ("output",)
    FUNCTION = "execute"
    CATEGORY = "logic"
    DESCRIPTION = ("Routes one of two inputs to the output based on a boolean switch value, "
                   "evaluating only the selected branch lazily.")

    def check_lazy_status(self, switch, on_false=None, on_true=None):
        if switch and on_true is None:
            return ["on_true"]
        if not switch and on_false is None:
            return ["on_false"]
        return []

    def execute(self, switch, on_false=None, on_true=None):
        if not isinstance(switch, bool):
            raise ValueError(f"switch: expected true or false, got {type(switch).__name__}")
        return (on_true if switch else on_false,)


@tooltips({
    "values.*": "A number, used in the expression by its letter (values.a is a)."})
class ComfyMathExpression:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"expression": ("STRING", {
                "default": "a + b", "multiline": True,
                "tooltip": "Arithmetic over the inputs a..z: + - * / // % **, parentheses, "
                           "min, max, abs, round, floor, ceil, sqrt."})},
            "optional": {f"values.{name}": ("FLOAT,INT,BOOLEAN", {"forceInput": True})
                         for name in EXPRESSION_NAMES},
        }

    RETURN_TYPES = ("FLOAT", "INT", "BOOLEAN")
    RETURN_NAMES = ("FLOAT", "INT", "BOOL")
    OUTPUT_TOOLTIPS = ("The result.", "The result without its fraction (truncated toward zero).",
                       "Whether the result is not zero.")
    FUNCTION = "execute"
    CATEGORY = "logic"
    DESCRIPTION = "Evaluates a math expression over the connected numbers (a, b, c, ...)."

    def execute(self, expression, **values):
        from nodes._math_expression import ExpressionError, evaluate

        names = {}
        for key, value in values.items():
            name = key.removeprefix("values.")
            if isinstance(value, bool):
                value = int(value)
            if not isinstance(value, (int, float)):
                raise ValueError(f"{key}: expected a number, got {type(value).__name__}")
            names[name] = value
        try:
            result = evaluate(expression, names)
        except ExpressionError as error:
            raise ValueError(f"expression: {error}") from None
        if not math.isfinite(result):
            raise ValueError(f"expression: the result is not a finite number ({result})")
        return (float(result), int(result), result != 0)


class ResolutionSelector:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "aspect_ratio": (list(ASPECT_RATIOS), {"default": "1:1 (Square)",
                                                   "tooltip": "The aspect ratio for the output dimensions."}),
            "megapixels": ("FLOAT", {"default": 1.0, "min": 0.1, "max": 16.0, "step": 0.1,
                                     "tooltip": "Target total megapixels. 1.0 MP is 1024x1024 for square."}),
            "multiple": ("INT", {"default": 8, "min": 8, "max": 128, "step": 4,
                                 "tooltip": "Width and height are rounded to a multiple of this."}),
        }}

    RETURN_TYPES = ("INT", "INT")
    RETURN_NAMES = ("width", "height")
    FUNCTION = "execute"
    CATEGORY = "utils"
    DESCRIPTION = ("Width and height for an aspect ratio and a total size in megapixels "
                   "(1 MP = 1024 x 1024 pixels), rounded to a multiple.")

    def execute(self, aspect_ratio, megapixels, multiple=8):
        if aspect_ratio not in ASPECT_RATIOS:
            raise ValueError(f"aspect_ratio: expected one of {list(ASPECT_RATIOS)}, got {aspect_ratio!r}")
        if isinstance(megapixels, bool) or not isinstance(megapixels, (int, float)) \
                or not 0.1 <= megapixels <= 16.0:
            raise ValueError(f"megapixels: expected a number from 0.1 to 16, got {megapixels!r}")
        if isinstance(multiple, bool) or not isinstance(multiple, int) or not 8 <= multiple <= 128:
            raise ValueError(f"multiple: expected a whole number from 8 to 128, got {multiple!r}")
        ratio_w, ratio_h = ASPECT_RATIOS[aspect_ratio]
        pixels = megapixels * 1024 * 1024
        width = math.sqrt(pixels * ratio_w / ratio_h)
        height = width * ratio_h / ratio_w
        return tuple(max(multiple, round(side / multiple) * multiple) for side in (width, height))


NODE_CLASS_MAPPINGS = {"ComfySwitchNode": ComfySwitchNode, "ComfyMathExpression": ComfyMathExpression,
                       "ResolutionSelector": ResolutionSelector}
NODE_DISPLAY_NAME_MAPPINGS = {"ComfySwitchNode": "Switch", "ComfyMathExpression": "Math Expression",
                              "ResolutionSelector": "Resolution Selector"}
