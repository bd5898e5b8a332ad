"""tools/node_reference.py: docs/NODES.md lists every built-in node with its inputs and outputs."""
import importlib.util
from pathlib import Path

from nodes.registry import NodeRegistry

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("node_reference", ROOT / "tools" / "node_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_lists_every_node_with_inputs_and_outputs():
    text = _tool().render()
    for class_type in NodeRegistry(load_custom_nodes=False).load().classes:
        assert f"`{class_type}` · category" in text, class_type
    section = text[text.index("### Resolution Selector"):]
    section = section[:section.index("\n### ", 1)]
    assert "`ResolutionSelector` · category `utils`" in section
    assert "| `megapixels` | `FLOAT` | default `1.0`, range 0.1..16.0 | Target total megapixels." in section
    assert "| `width` | `INT` |" in section and "| `height` | `INT` |" in section
    assert "`values.a` ... `values.z` (26 inputs)" in text


def test_check_mode_reports_a_stale_file(tmp_path):
    tool = _tool()
    target = tmp_path / "NODES.md"
    assert tool.main(["--output", str(target)]) == 0
    assert tool.main(["--check", "--output", str(target)]) == 0
    target.write_text("old\n")
    assert tool.main(["--check", "--output", str(target)]) == 1


def test_every_builtin_input_has_a_tooltip_and_every_node_a_description():
    info = NodeRegistry(load_custom_nodes=False).load().object_info()
    missing_tips = [f"{class_type}.{name}" for class_type, node in info.items()
                    for section in ("required", "optional")
                    for name, spec in (node["input"].get(section) or {}).items()
                    if not (len(spec) > 1 and isinstance(spec[1], dict) and spec[1].get("tooltip"))]
    missing_descriptions = [class_type for class_type, node in info.items() if not node.get("description")]
    assert missing_tips == [], f"inputs without a tooltip: {missing_tips}"
    assert missing_descriptions == [], f"nodes without a description: {missing_descriptions}"
