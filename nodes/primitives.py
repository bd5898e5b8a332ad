"""The number and boolean primitives (PrimitiveInt, PrimitiveFloat, PrimitiveBoolean).

ComfyUI's schemas: one `value` widget, one output of the same type. A workflow
links them into several widgets so one number drives them all.
"""
from __future__ import annotations

import math
import sys

INT_LIMIT = sys.maxsize


def _check_number(value, kind, input_name="value"):
    """The value as int/float; ValueError naming the input for text, None, bools, NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{input_name}: expected a number, got {type(value).__name__}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{input_name}: expected a whole number, got {value}")
        return int(value)
    if not math.isfinite(value):
        raise ValueError(f"{input_name}: expected a finite number, got {value}")
    return float(value)


class PrimitiveInt:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {
            "min": -INT_LIMIT, "max": INT_LIMIT, "control_after_generate": True,
            "tooltip": "The whole number to output."})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "execute"
    CATEGORY = "utils/primitive"
    DESCRIPTION = "A whole number that can be linked into any INT input."

    def execute(self, value):
        return (_check_number(value, int),)


class PrimitiveFloat:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("FLOAT", {
            "min": -INT_LIMIT, "max": INT_LIMIT, "step": 0.1, "tooltip": "The number to output."})}}

    RETURN_TYPES = ("FLOAT",)
    FUNCTION = "execute"
    CATEGORY = "utils/primitive"
    DESCRIPTION = "A decimal number that can be linked into any FLOAT input."

    def execute(self, value):
        return (_check_number(value, float),)


class PrimitiveBoolean:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("BOOLEAN", {"tooltip": "The true/false value to output."})}}

    RETURN_TYPES = ("BOOLEAN",)
    FUNCTION = "execute"
    CATEGORY = "utils/primitive"
    DESCRIPTION = "A true/false value that can be linked into any BOOLEAN input."

    def execute(self, value):
        if not isinstance(value, bool):
            raise ValueError(f"value: expected true or false, got {type(value).__name__}")
        return (value,)


NODE_CLASS_MAPPINGS = {
    "PrimitiveInt": PrimitiveInt,
    "PrimitiveFloat": PrimitiveFloat,
    "PrimitiveBoolean": PrimitiveBoolean,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "PrimitiveInt": "Int",
    "PrimitiveFloat": "Float",
    "PrimitiveBoolean": "Boolean",
}
