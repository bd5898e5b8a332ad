"""An example custom node pack, written exactly as for ComfyUI.

Copy this folder next to it in custom_nodes/ to start a pack of your own. It
shows the V1 class API (INPUT_TYPES, RETURN_TYPES, FUNCTION, ...), a progress
bar through `comfy.utils`, a file combo through `folder_paths`, and a
WEB_DIRECTORY with a front-end extension.
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

WEB_DIRECTORY = "./web"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
