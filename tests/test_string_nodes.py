"""StringConcatenate and the String primitives: ComfyUI's schemas, behaviour, and links in a graph."""
import pytest

from graph.executor import CacheConfig, PromptExecutor
from graph.validate import validate_prompt
from nodes.strings import PrimitiveString, PrimitiveStringMultiline, StringConcatenate


def test_schemas_follow_comfyui():
    required = StringConcatenate.INPUT_TYPES()["required"]
    assert list(required) == ["string_a", "string_b", "delimiter"]
    assert required["string_a"][0] == "STRING" and required["string_a"][1]["multiline"] is True
    delimiter = dict(required["delimiter"][1])
    assert delimiter.pop("tooltip") and delimiter == {"multiline": False, "default": ""}
    assert StringConcatenate.RETURN_TYPES == ("STRING",) and StringConcatenate.CATEGORY == "utils/string"
    assert list(PrimitiveString.INPUT_TYPES()) == ["required"]
    value = PrimitiveString.INPUT_TYPES()["required"]["value"]
    assert value[0] == "STRING" and set(value[1]) == {"tooltip"}
    assert PrimitiveStringMultiline.INPUT_TYPES()["required"]["value"][1]["multiline"] is True
    assert PrimitiveString.CATEGORY == "utils/primitive" and PrimitiveString.RETURN_TYPES == ("STRING",)


@pytest.mark.parametrize("a, b, delimiter, expected", [
    ("a photo of a cat", "oil painting", ", ", "a photo of a cat, oil painting"),
    ("one", "two", "", "onetwo"),
    ("", "", "-", "-"),
    ("line one", "line two", "\n", "line one\nline two"),
])
def test_concatenate(a, b, delimiter, expected):
    assert StringConcatenate().execute(a, b, delimiter) == (expected,)


def test_primitive_returns_its_value():
    assert PrimitiveString().execute("hello") == ("hello",)
    assert PrimitiveStringMultiline().execute("a\nb") == ("a\nb",)


@pytest.mark.parametrize("args, name", [((1, "b", ""), "string_a"), (("a", None, ""), "string_b"),
                                        (("a", "b", 3), "delimiter")])
def test_bad_input_names_the_input(args, name):
    with pytest.raises(ValueError, match=name):
        StringConcatenate().execute(*args)
    with pytest.raises(ValueError, match="value"):
        PrimitiveString().execute(5)


class _Sink:
    """Output node that records the STRING it receives through a link."""

    received = []

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"forceInput": True})}}

    RETURN_TYPES = ()
    OUTPUT_NODE = True
    FUNCTION = "run"

    def run(self, text):
        _Sink.received.append(text)
        return {"ui": {"text": [text]}}


def test_strings_flow_through_links_in_a_graph():
    classes = {"PrimitiveString": PrimitiveString, "StringConcatenate": StringConcatenate, "Sink": _Sink}
    prompt = {
        "1": {"class_type": "PrimitiveString", "inputs": {"value": "a red barn"}},
        "2": {"class_type": "StringConcatenate",
              "inputs": {"string_a": ["1", 0], "string_b": "watercolour", "delimiter": ", "}},
        "3": {"class_type": "Sink", "inputs": {"text": ["2", 0]}},
    }
    checked = validate_prompt(prompt, classes)
    assert checked.ok, checked.node_errors or checked.error
    _Sink.received = []
    result = PromptExecutor(classes, cache=CacheConfig(policy="none")).execute(checked.prompt, "p", {}, checked.outputs)
    assert result.status_str == "success", result.error
    assert _Sink.received == ["a red barn, watercolour"]
    assert result.outputs["3"] == {"text": ["a red barn, watercolour"]}


def test_new_nodes_appear_in_object_info_with_categories():
    import json

    from nodes.registry import NodeRegistry

    info = json.loads(json.dumps(NodeRegistry(load_custom_nodes=False).load().object_info()))
    expected = {
        "Canny": ("image/preprocessors", ["IMAGE"]),
        "DepthEstimation": ("image/preprocessors", ["IMAGE"]),
        "Depth2ImgConditioning": ("conditioning", ["CONDITIONING", "CONDITIONING"]),
        "ImageCaption": ("image/analysis", ["STRING"]),
        "StringConcatenate": ("utils/string", ["STRING"]),
        "PrimitiveString": ("utils/primitive", ["STRING"]),
        "PrimitiveStringMultiline": ("utils/primitive", ["STRING"]),
    }
    for name, (category, outputs) in expected.items():
        assert info[name]["category"] == category and info[name]["output"] == outputs, name
    assert info["StringConcatenate"]["display_name"] == "Concatenate"
    assert info["ImageCaption"]["output_node"] is True
    assert info["ImageCaption"]["input"]["optional"]["num_beams"][1]["default"] == 3
