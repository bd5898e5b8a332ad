"""Nodes that show or keep values: PreviewAny, SaveText, and CustomCombo.

A node that shows text returns {"ui": {"text": [...]}, "result": (...)} (docs/CONTRACTS.md).
"""
from __future__ import annotations

import json

TEXT_FORMATS = ["txt", "md", "json"]


def describe_value(value) -> str:
    """Text for any value: strings as they are, numbers and booleans with str(),
    JSON-able values as indented JSON, anything else (tensors, models) with str()."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return str(value)
    try:
        return json.dumps(value, indent=4)
    except (TypeError, ValueError):
        try:
            return str(value)
        except Exception:
            return f"a {type(value).__name__} that could not be shown as text"


class PreviewAny:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"source": ("*", {"tooltip": "Any value: text, a number, a list, a tensor..."})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "main"
    OUTPUT_NODE = True
    CATEGORY = "utils"
    DESCRIPTION = "Shows any value as text on the node, and outputs that text."

    def main(self, source=None):
        text = describe_value(source)
        return {"ui": {"text": [text]}, "result": (text,)}


class SaveText:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "text": ("STRING", {"forceInput": True, "tooltip": "The text to save."}),
            "filename_prefix": ("STRING", {"default": "ComfyUI", "tooltip":
                                "File name prefix inside the output folder; may name subfolders."}),
            "format": (TEXT_FORMATS, {"default": "txt", "tooltip":
                       "File extension; json checks that the text is valid JSON."}),
        }}

    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("text",)
    FUNCTION = "execute"
    OUTPUT_NODE = True
    CATEGORY = "text"
    DESCRIPTION = "Save text content to a file in the output directory."

    def execute(self, text, filename_prefix, format):
        from engine import atomic, folders
        from engine.images import save_location

        if not isinstance(text, str):
            raise ValueError(f"text: expected text, got {type(text).__name__}")
        if format not in TEXT_FORMATS:
            raise ValueError(f"format: expected one of {TEXT_FORMATS}, got {format!r}")
        if format == "json":
            try:
                json.loads(text)
            except json.JSONDecodeError as error:
                raise ValueError(f"text: format is json but the text is not valid JSON ({error})") from None
        folder, filename, counter, subfolder = save_location(filename_prefix, folders.get().output_dir)
        name = f"{filename}_{counter:05}_.{format}"
        atomic.write_bytes(folder / name, text.encode("utf-8"))
        return {"ui": {"text": [text], "files": [{"filename": name, "subfolder": subfolder, "type": "output"}]},
                "result": (text,)}


class CustomCombo:
    """A drop-down whose options the user writes in the editor; the server only sees the choice."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"choice": ([], {"tooltip": "The chosen option."})},
                "optional": {"index": ("INT", {"default": 0, "min": 0, "tooltip":
                                               "Position of the choice in the option list."})}}

    RETURN_TYPES = ("STRING", "INT")
    RETURN_NAMES = ("STRING", "INDEX")
    FUNCTION = "execute"
    CATEGORY = "utils"
    DESCRIPTION = ("Provides a user-defined dropdown combo box where options are written by the user, "
                   "outputting the selected string and its index.")

    @classmethod
    def VALIDATE_INPUTS(cls, choice, index=0):
        # the options live in the editor only, so any text is a valid choice
        if not isinstance(choice, str):
            return f"choice: expected text, got {type(choice).__name__}"
        return True

    def execute(self, choice, index=0):
        if not isinstance(choice, str):
            raise ValueError(f"choice: expected text, got {type(choice).__name__}")
        return (choice, index)


NODE_CLASS_MAPPINGS = {"PreviewAny": PreviewAny, "SaveText": SaveText, "CustomCombo": CustomCombo}
NODE_DISPLAY_NAME_MAPPINGS = {"PreviewAny": "Preview as Text", "SaveText": "Save Text",
                              "CustomCombo": "Custom Combo"}
