"""String nodes with ComfyUI's schemas: StringConcatenate and the String primitives.

So a caption can be joined with the user's own words and linked into a text
input such as CLIPTextEncode's `text`.
"""
from __future__ import annotations

from nodes._tooltips import tooltips


@tooltips({
    "string_a": "The text that comes first.",
    "string_b": "The text that comes second.",
    "delimiter": "Text put between string_a and string_b, such as a space or a comma; empty joins them "
                 "directly."})
class StringConcatenate:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "string_a": ("STRING", {"multiline": True}),
            "string_b": ("STRING", {"multiline": True}),
            "delimiter": ("STRING", {"multiline": False, "default": ""}),
        }}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "execute"
    CATEGORY = "utils/string"
    DESCRIPTION = "Joins two texts with a delimiter between them."

    def execute(self, string_a, string_b, delimiter):
        for name, value in (("string_a", string_a), ("string_b", string_b), ("delimiter", delimiter)):
            if not isinstance(value, str):
                raise ValueError(f"{name}: expected text, got {type(value).__name__}")
        return (delimiter.join((string_a, string_b)),)


@tooltips({
    "value": "The text this node outputs."})
class PrimitiveString:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("STRING", {})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "execute"
    CATEGORY = "utils/primitive"
    DESCRIPTION = "A line of text that can be linked into any STRING input."

    def execute(self, value):
        if not isinstance(value, str):
            raise ValueError(f"value: expected text, got {type(value).__name__}")
        return (value,)


@tooltips({
    "value": "The text this node outputs; may span several lines."})
class PrimitiveStringMultiline(PrimitiveString):
    DESCRIPTION = "A block of text that can be linked into any STRING input."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("STRING", {"multiline": True})}}


NODE_CLASS_MAPPINGS = {
    "StringConcatenate": StringConcatenate,
    "PrimitiveString": PrimitiveString,
    "PrimitiveStringMultiline": PrimitiveStringMultiline,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "StringConcatenate": "Concatenate",
    "PrimitiveString": "String",
    "PrimitiveStringMultiline": "String (Multiline)",
}
