"""ComfyUI's UI-format workflows (the editor's save files): conversion to and from the
API format, driven by the node catalogue (the /object_info entries of the nodes).

Used by the server (POST /prompt, /workflow/*), the headless runner and the editor.
See docs/WORKFLOWS.md for what is converted and how.
"""
from graph.ui_workflow.control import apply_to_api, apply_to_ui
from graph.ui_workflow.convert import ConversionError, Conversion, is_ui_workflow, ui_to_api
from graph.ui_workflow.layout import api_to_ui

__all__ = ["ConversionError", "Conversion", "api_to_ui", "apply_to_api", "apply_to_ui",
           "is_ui_workflow", "ui_to_api"]
