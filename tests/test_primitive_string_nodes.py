"""Primitives, string utilities, PreviewAny, SaveText and CustomCombo: ComfyUI's schemas,
outputs on small inputs worked out by hand, and bad inputs that name the input."""
import json
import re

import pytest

from graph.executor import CacheConfig, PromptExecutor
from graph.validate import validate_prompt
from nodes import primitives, text, text_output
from nodes.primitives import PrimitiveBoolean, PrimitiveFloat, PrimitiveInt
from nodes.text import (CaseConverter, JsonExtractString, RegexExtract, RegexMatch, RegexReplace,
                        StringCompare, StringContains, StringLength, StringReplace, StringSubstring,
                        StringTrim)
from nodes.text_output import CustomCombo, PreviewAny, SaveText

CLASSES = {**primitives.NODE_CLASS_MAPPINGS, **text.NODE_CLASS_MAPPINGS, **text_output.NODE_CLASS_MAPPINGS}


def run(prompt):
    checked = validate_prompt(prompt, CLASSES)
    assert checked.ok, checked.node_errors or checked.error
    result = PromptExecutor(CLASSES, cache=CacheConfig(policy="none")).execute(
        checked.prompt, "p", {}, checked.outputs)
    return result


def test_schemas_follow_comfyui():
    assert PrimitiveInt.INPUT_TYPES()["required"]["value"][0] == "INT"
    assert PrimitiveInt.INPUT_TYPES()["required"]["value"][1]["control_after_generate"] is True
    assert PrimitiveFloat.RETURN_TYPES == ("FLOAT",) and PrimitiveBoolean.RETURN_TYPES == ("BOOLEAN",)
    assert list(RegexExtract.INPUT_TYPES()["required"]) == [
        "string", "regex_pattern", "mode", "case_insensitive", "multiline", "dotall", "group_index"]
    assert list(RegexReplace.INPUT_TYPES()["optional"]) == ["case_insensitive", "multiline", "dotall", "count"]
    assert list(StringCompare.INPUT_TYPES()["required"]) == ["string_a", "string_b", "mode", "case_sensitive"]
    assert CaseConverter.INPUT_TYPES()["required"]["mode"][0] == ["UPPERCASE", "lowercase", "Capitalize",
                                                                   "Title Case"]
    assert StringLength.RETURN_NAMES == ("length",) and CustomCombo.RETURN_TYPES == ("STRING", "INT")
    assert SaveText.INPUT_TYPES()["required"]["format"][0] == ["txt", "md", "json"]
    assert PreviewAny.OUTPUT_NODE and PreviewAny.INPUT_TYPES()["required"]["source"][0] == "*"


def test_primitives_return_their_value():
    assert PrimitiveInt().execute(-7) == (-7,)
    assert PrimitiveFloat().execute(2) == (2.0,) and isinstance(PrimitiveFloat().execute(2)[0], float)
    assert PrimitiveBoolean().execute(False) == (False,)


@pytest.mark.parametrize("node, value", [(PrimitiveInt(), "3"), (PrimitiveInt(), 1.5), (PrimitiveInt(), True),
                                         (PrimitiveFloat(), float("nan")), (PrimitiveFloat(), None),
                                         (PrimitiveBoolean(), 1)])
def test_primitives_reject_wrong_types(node, value):
    with pytest.raises(ValueError, match="^value: "):
        node.execute(value)


@pytest.mark.parametrize("node, args, expected", [
    (StringReplace(), ("a cat and a cat", "cat", "dog"), "a dog and a dog"),
    (StringSubstring(), ("watercolour", 5, 9), "colo"),
    (StringSubstring(), ("watercolour", -3, 100), "our"),
    (StringLength(), ("héllo\n",), 6),
    (CaseConverter(), ("a red BARN", "UPPERCASE"), "A RED BARN"),
    (CaseConverter(), ("a red BARN", "lowercase"), "a red barn"),
    (CaseConverter(), ("a red BARN", "Capitalize"), "A red barn"),
    (CaseConverter(), ("a red BARN", "Title Case"), "A Red Barn"),
    (StringTrim(), ("  x y \n", "Both"), "x y"),
    (StringTrim(), ("  x y \n", "Left"), "x y \n"),
    (StringTrim(), ("  x y \n", "Right"), "  x y"),
    (StringContains(), ("A Red Barn", "red", True), False),
    (StringContains(), ("A Red Barn", "red", False), True),
    (StringCompare(), ("photo.png", "PHOTO", "Starts With", False), True),
    (StringCompare(), ("photo.png", ".PNG", "Ends With", True), False),
    (StringCompare(), ("abc", "abc", "Equal", True), True),
    (RegexMatch(), ("Seed: 42", r"seed:\s*\d+", True, False, False), True),
    (RegexMatch(), ("Seed: 42", r"seed:\s*\d+", False, False, False), False),
    (RegexMatch(), ("a\nb", r"^b$", False, False, False), False),
    (RegexMatch(), ("a\nb", r"^b$", False, True, False), True),
    (RegexMatch(), ("a\nb", r"a.b", False, False, True), True),
])
def test_string_operations(node, args, expected):
    assert node.execute(*args) == (expected,)


@pytest.mark.parametrize("mode, group_index, expected", [
    ("First Match", 1, "w=512"),
    ("All Matches", 1, "w\nh"),          # with groups, re.findall gives the first group
    ("First Group", 2, "512"),
    ("All Groups", 1, "w\nh"),
    ("All Groups", 3, ""),               # no third group
    ("First Group", 0, "w=512"),
])
def test_regex_extract(mode, group_index, expected):
    source = "size w=512, h=768"
    assert RegexExtract().execute(source, r"([wh])=(\d+)", mode, True, False, False, group_index) == (expected,)
    assert RegexExtract().execute(source, r"\d+", "All Matches", True, False, False, 1) == ("512\n768",)


def test_regex_replace():
    assert RegexReplace().execute("A cat, a CAT", r"cat", "dog") == ("A dog, a dog",)
    assert RegexReplace().execute("A cat, a CAT", r"cat", "dog", case_insensitive=False) == ("A dog, a CAT",)
    assert RegexReplace().execute("1 2 3", r"(\d)", r"<\1>", count=2) == ("<1> <2> 3",)


def test_json_extract_string():
    doc = json.dumps({"prompt": "a barn", "steps": 20, "size": [512, 768], "none": None})
    assert JsonExtractString().execute(doc, "prompt") == ("a barn",)
    assert JsonExtractString().execute(doc, "steps") == ("20",)
    assert JsonExtractString().execute(doc, "size") == ("[512, 768]",)
    assert JsonExtractString().execute(doc, "missing") == ("",)
    assert JsonExtractString().execute(doc, "none") == ("",)


@pytest.mark.parametrize("call, name", [
    (lambda: StringReplace().execute(None, "a", "b"), "string"),
    (lambda: StringReplace().execute("x", 1, "b"), "find"),
    (lambda: StringSubstring().execute("x", "1", 2), "start"),
    (lambda: StringLength().execute(5), "string"),
    (lambda: CaseConverter().execute("x", "Shout"), "mode"),
    (lambda: StringTrim().execute("x", "Middle"), "mode"),
    (lambda: StringContains().execute("x", None, True), "substring"),
    (lambda: StringCompare().execute("x", "y", "Bigger", True), "mode"),
    (lambda: RegexMatch().execute("x", "(", True, False, False), "regex_pattern"),
    (lambda: RegexExtract().execute("x", "[a-", "First Match", True, False, False, 1), "regex_pattern"),
    (lambda: RegexExtract().execute("x", "x", "First Match", True, False, False, 101), "group_index"),
    (lambda: RegexReplace().execute("x", "x", r"\3"), "replace"),
    (lambda: RegexReplace().execute("x", "x", "y", count=-1), "count"),
    (lambda: JsonExtractString().execute("{not json", "a"), "json_string"),
    (lambda: JsonExtractString().execute("[1, 2]", "a"), "json_string"),
    (lambda: JsonExtractString().execute("{}", 3), "key"),
])
def test_bad_input_names_the_input(call, name):
    with pytest.raises(ValueError, match=f"^{re.escape(name)}: "):
        call()


def test_preview_any_shows_values_as_text():
    assert PreviewAny().main("hi") == {"ui": {"text": ["hi"]}, "result": ("hi",)}
    assert PreviewAny().main(3.5)["result"] == ("3.5",)
    assert PreviewAny().main(True)["result"] == ("True",)
    assert PreviewAny().main({"a": [1, 2]})["result"] == (json.dumps({"a": [1, 2]}, indent=4),)
    assert PreviewAny().main(None)["result"] == ("None",)
    assert PreviewAny().main(object())["result"][0].startswith("<object object")


def test_preview_any_in_a_graph_shows_a_linked_primitive():
    result = run({"1": {"class_type": "PrimitiveInt", "inputs": {"value": 96}},
                  "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}})
    assert result.status_str == "success", result.error
    assert result.outputs["2"] == {"text": ["96"]}


def test_primitives_validate_ranges_and_types():
    bad = validate_prompt({"1": {"class_type": "PrimitiveInt", "inputs": {"value": "many"}},
                           "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}, CLASSES)
    assert not bad.ok and bad.node_errors["1"]["errors"][0]["extra_info"]["input_name"] == "value"


def test_save_text_writes_a_file(tmp_folders):
    out = SaveText().execute("line one\nline two", "notes/run", "md")
    assert out["result"] == ("line one\nline two",)
    saved = out["ui"]["files"][0]
    assert saved == {"filename": "run_00001_.md", "subfolder": "notes", "type": "output"}
    assert (tmp_folders.output_dir / "notes" / "run_00001_.md").read_text() == "line one\nline two"
    assert SaveText().execute("{}", "notes/run", "json")["ui"]["files"][0]["filename"] == "run_00002_.json"
    with pytest.raises(ValueError, match="^text: "):
        SaveText().execute("{oops", "notes/run", "json")
    with pytest.raises(ValueError, match="^filename_prefix: "):
        SaveText().execute("x", "../escape", "txt")
    with pytest.raises(ValueError, match="^format: "):
        SaveText().execute("x", "a", "exe")


def test_custom_combo_accepts_user_options_through_validation():
    result = run({"1": {"class_type": "CustomCombo", "inputs": {"choice": "portrait", "index": 2}},
                  "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
                  "3": {"class_type": "PreviewAny", "inputs": {"source": ["1", 1]}}})
    assert result.status_str == "success", result.error
    assert result.outputs["2"] == {"text": ["portrait"]} and result.outputs["3"] == {"text": ["2"]}
    bad = validate_prompt({"1": {"class_type": "CustomCombo", "inputs": {"choice": 5}},
                           "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}, CLASSES)
    assert not bad.ok and "choice" in json.dumps(bad.node_errors)


def test_custom_combo_from_a_ui_workflow_keeps_choice_and_index():
    from graph.ui_workflow import ui_to_api
    from nodes.registry import NodeRegistry
    from tests.ui_workflows import inp, node, out

    # ComfyUI's editor saves [choice, index, option1, option2, ...]
    ui = {"nodes": [node(1, "CustomCombo", outputs=[out("STRING", "STRING", [1]), out("INDEX", "INT")],
                         widgets=["b", 1, "a", "b", "c"]),
                    node(2, "PreviewAny", inputs=[inp("source", "*", 1)])],
          "links": [[1, 1, 0, 2, 0, "STRING"]], "version": 0.4}
    prompt = ui_to_api(ui, NodeRegistry(load_custom_nodes=False).load().catalogue()).prompt
    assert prompt["1"]["inputs"] == {"choice": "b", "index": 1}
    assert run({k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in prompt.items()}
               ).outputs["2"] == {"text": ["b"]}
