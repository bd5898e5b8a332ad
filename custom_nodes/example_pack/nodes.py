"""The example pack's nodes. Torch is imported inside the functions that need it."""

import comfy.utils
import folder_paths


class ExampleTextJoin:
    """Joins two strings with a separator: the smallest possible node."""

    DESCRIPTION = "Join two texts with a separator."
    CATEGORY = "example"
    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("text",)
    FUNCTION = "join"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "first": ("STRING", {"default": "", "multiline": True}),
                "second": ("STRING", {"default": ""}),
                "separator": ("STRING", {"default": ", "}),
            }
        }

    def join(self, first, second, separator):
        return (separator.join(part for part in (first, second) if part),)


class ExampleImageBrightness:
    """Scales an IMAGE's brightness row by row, reporting progress as it goes."""

    CATEGORY = "example"
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "apply"

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "image": ("IMAGE",),
                "factor": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 4.0, "step": 0.05}),
            }
        }

    def apply(self, image, factor):
        batch = image.shape[0]
        progress = comfy.utils.ProgressBar(batch)
        frames = []
        for frame in image:
            frames.append((frame * factor).clamp(0.0, 1.0))
            progress.update(1)
        import torch

        return (torch.stack(frames),)


class ExampleListCheckpoints:
    """Outputs the names of the checkpoints Loom can see, one per line."""

    CATEGORY = "example"
    RETURN_TYPES = ("STRING",)
    FUNCTION = "list"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {}}

    @classmethod
    def IS_CHANGED(cls):
        return "\n".join(folder_paths.get_filename_list("checkpoints"))

    def list(self):
        return ("\n".join(folder_paths.get_filename_list("checkpoints")),)


NODE_CLASS_MAPPINGS = {
    "ExampleTextJoin": ExampleTextJoin,
    "ExampleImageBrightness": ExampleImageBrightness,
    "ExampleListCheckpoints": ExampleListCheckpoints,
}

NODE_DISPLAY_NAME_MAPPINGS = {
    "ExampleTextJoin": "Text Join (example)",
    "ExampleImageBrightness": "Image Brightness (example)",
    "ExampleListCheckpoints": "List Checkpoints (example)",
}
