"""The node catalogue: built-in nodes, custom packs, broken packs, compat modules."""

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from nodes.registry import NodeRegistry

REPO = Path(__file__).resolve().parent.parent


def write_pack(root: Path, name: str, body: str, as_package: bool = True) -> str:
    """Write a custom pack and return its (unique) module name."""
    name = f"{name}_{uuid.uuid4().hex[:8]}"
    if as_package:
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(textwrap.dedent(body))
    else:
        root.mkdir(parents=True, exist_ok=True)
        (root / f"{name}.py").write_text(textwrap.dedent(body))
    return name


SIMPLE_NODE = """
class {cls}:
    CATEGORY = "test"
    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    @classmethod
    def INPUT_TYPES(cls):
        return {{"required": {{"text": ("STRING", {{"default": "hi"}})}}}}
    def run(self, text):
        return (text,)
NODE_CLASS_MAPPINGS = {{"{cls}": {cls}}}
NODE_DISPLAY_NAME_MAPPINGS = {{"{cls}": "Pretty {cls}"}}
"""


def test_builtin_catalogue_loads_without_torch():
    code = (
        "import sys; from nodes.registry import NodeRegistry;"
        "r = NodeRegistry(['custom_nodes']).load();"
        "print(len(r.classes), 'torch' in sys.modules, r.failed_packs)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    count, torch_loaded, failed = out.stdout.split(" ", 2)
    assert int(count) > 3
    assert torch_loaded == "False", "loading the node catalogue must not import torch"
    assert failed.strip() == "[]"


def test_object_info_has_comfyui_shape():
    registry = NodeRegistry(["custom_nodes"]).load()
    info = registry.object_info()
    assert "ExampleTextJoin" in info
    node = info["ExampleTextJoin"]
    assert set(node) >= {
        "input", "input_order", "output", "output_is_list", "output_name", "name",
        "display_name", "description", "python_module", "category", "output_node",
    }
    assert node["input_order"]["required"] == ["first", "second", "separator"]
    assert node["output"] == ["STRING"] and node["output_name"] == ["text"]
    assert node["output_is_list"] == [False]
    assert node["display_name"] == "Text Join (example)"
    assert node["python_module"] == "custom_nodes.example_pack"
    json.dumps(info)  # the whole catalogue must be JSON


def test_example_pack_web_directory_is_found():
    registry = NodeRegistry(["custom_nodes"]).load()
    assert registry.web_directories["example_pack"].joinpath("example.js").is_file()


def test_single_file_pack_and_package_pack_load(tmp_path):
    file_pack = write_pack(tmp_path, "filepack", SIMPLE_NODE.format(cls="FileNode"), as_package=False)
    dir_pack = write_pack(tmp_path, "dirpack", SIMPLE_NODE.format(cls="DirNode"))
    registry = NodeRegistry([tmp_path]).load()
    assert {"FileNode", "DirNode"} <= set(registry.classes)
    assert registry.display_names["DirNode"] == "Pretty DirNode"
    loaded = {p["name"]: p for p in registry.status()["packs"]}
    assert loaded[file_pack]["nodes"] == ["FileNode"] and loaded[dir_pack]["nodes"] == ["DirNode"]


def test_broken_pack_is_reported_and_others_still_load(tmp_path):
    broken = write_pack(tmp_path, "broken", "raise RuntimeError('boom at import')\n")
    no_mappings = write_pack(tmp_path, "empty", "X = 1\n")
    write_pack(tmp_path, "good", SIMPLE_NODE.format(cls="GoodNode"))
    registry = NodeRegistry([tmp_path]).load()
    failed = {p["name"]: p["error"] for p in registry.failed_packs}
    assert "boom at import" in failed[broken]
    assert "NODE_CLASS_MAPPINGS" in failed[no_mappings]
    assert "GoodNode" in registry.classes
    assert registry.status()["failed"] == registry.failed_packs


def test_pack_cannot_replace_builtin_node(tmp_path):
    builtin = next(name for name, module in NodeRegistry().load().modules.items() if module == "nodes")
    pack = write_pack(tmp_path, "hijack", SIMPLE_NODE.format(cls=builtin))
    registry = NodeRegistry([tmp_path]).load()
    assert registry.modules[builtin] == "nodes"
    assert registry.classes[builtin].__module__.startswith("nodes.")
    status = {p["name"]: p for p in registry.status()["packs"]}[pack]
    assert status["nodes"] == [] and "already defined" in status["warnings"][0]


def test_comfyui_style_pack_imports_compat_modules(tmp_path):
    body = """
    import folder_paths
    import comfy.utils
    import comfy.model_management
    from server import PromptServer

    class UsesCompat:
        CATEGORY = "test"
        RETURN_TYPES = ("STRING",)
        FUNCTION = "run"
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"ckpt": (folder_paths.get_filename_list("checkpoints"),)}}
        def run(self, ckpt):
            comfy.utils.ProgressBar(1).update(1)
            return (folder_paths.get_output_directory(),)

    NODE_CLASS_MAPPINGS = {"UsesCompat": UsesCompat}
    """
    write_pack(tmp_path, "compat", body)
    registry = NodeRegistry([tmp_path]).load()
    assert registry.failed_packs == []
    assert "UsesCompat" in registry.object_info()


def test_disabled_custom_nodes_are_not_loaded(tmp_path):
    write_pack(tmp_path, "skipped", SIMPLE_NODE.format(cls="SkippedNode"))
    registry = NodeRegistry([tmp_path], load_custom_nodes=False).load()
    assert "SkippedNode" not in registry.classes


@pytest.mark.parametrize("name", ["../escape.safetensors", "/etc/passwd", "C:\\\\x.safetensors", "a\x00b"])
def test_folder_paths_refuses_names_outside_model_folders(name):
    from nodes.registry import install_compat_modules

    install_compat_modules()
    import folder_paths

    assert folder_paths.get_full_path("checkpoints", name) is None


def test_folder_paths_save_image_path_counts_on_and_stays_inside(tmp_path):
    from nodes.registry import install_compat_modules

    install_compat_modules()
    import folder_paths

    (tmp_path / "shots").mkdir()
    (tmp_path / "shots" / "cat_00004_.png").write_bytes(b"")
    folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path("shots/cat", str(tmp_path))
    assert (Path(folder), filename, counter, subfolder) == (tmp_path.resolve() / "shots", "cat", 5, "shots")
    with pytest.raises(ValueError):
        folder_paths.get_save_image_path("../outside", str(tmp_path))
