"""ComfySwitchNode (lazy), ComfyMathExpression (a safe evaluator) and ResolutionSelector."""
import math

import pytest

from graph.executor import CacheConfig, PromptExecutor
from graph.validate import validate_prompt
from nodes import logic, primitives, text_output
from nodes._math_expression import evaluate
from nodes.logic import ComfyMathExpression, ComfySwitchNode, ResolutionSelector


class _Branch:
    """Records that it ran and outputs its label."""

    ran = []

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"label": ("STRING", {})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"

    def run(self, label):
        _Branch.ran.append(label)
        return (label,)


CLASSES = {**logic.NODE_CLASS_MAPPINGS, **primitives.NODE_CLASS_MAPPINGS,
           **text_output.NODE_CLASS_MAPPINGS, "Branch": _Branch}


def run(prompt):
    checked = validate_prompt(prompt, CLASSES)
    assert checked.ok, checked.node_errors or checked.error
    return PromptExecutor(CLASSES, cache=CacheConfig(policy="none")).execute(
        checked.prompt, "p", {}, checked.outputs)


@pytest.mark.parametrize("switch, taken", [(True, "yes"), (False, "no")])
def test_switch_runs_only_the_chosen_branch(switch, taken):
    _Branch.ran = []
    result = run({
        "1": {"class_type": "PrimitiveBoolean", "inputs": {"value": switch}},
        "2": {"class_type": "Branch", "inputs": {"label": "yes"}},
        "3": {"class_type": "Branch", "inputs": {"label": "no"}},
        "4": {"class_type": "ComfySwitchNode", "inputs": {"switch": ["1", 0], "on_true": ["2", 0],
                                                          "on_false": ["3", 0]}},
        "5": {"class_type": "PreviewAny", "inputs": {"source": ["4", 0]}},
    })
    assert result.status_str == "success", result.error
    assert _Branch.ran == [taken]
    assert result.outputs["5"] == {"text": [taken]}
    assert ("3" if switch else "2") not in result.executed


def test_switch_schema_and_bad_switch():
    required = ComfySwitchNode.INPUT_TYPES()["required"]
    assert list(required) == ["switch", "on_false", "on_true"]
    assert required["on_true"][1]["lazy"] and required["on_false"][1]["lazy"]
    assert ComfySwitchNode().check_lazy_status(True, None, None) == ["on_true"]
    assert ComfySwitchNode().check_lazy_status(False, None, None) == ["on_false"]
    assert ComfySwitchNode().check_lazy_status(True, None, 5) == []
    with pytest.raises(ValueError, match="^switch: "):
        ComfySwitchNode().execute("yes", 1, 2)


@pytest.mark.parametrize("expression, values, expected", [
    ("a + b", {"a": 2, "b": 3}, 5),
    ("-a ** 2", {"a": 3}, -9),                   # Python precedence: -(3 ** 2)
    ("(a + 1) * (b - 1) / 4", {"a": 3, "b": 5}, 4.0),
    ("a // 8 * 8", {"a": 100}, 96),
    ("a % 17", {"a": 40}, 6),
    ("2 ** 10", {}, 1024),
    ("max(5, round(a * 24)) + (5 - (max(5, round(a * 24)) % 17)) % 17", {"a": 5.0}, 124),
    ("min(a, b, 3)", {"a": 7, "b": 4}, 3),
    ("abs(-2.5) + floor(1.7) + ceil(1.2) + sqrt(16)", {}, 2.5 + 1 + 2 + 4),
    ("round(2.675, 2)", {}, round(2.675, 2)),
])
def test_math_expression_values(expression, values, expected):
    assert evaluate(expression, values) == expected


def test_math_expression_node_outputs_float_int_bool():
    node = ComfyMathExpression()
    assert node.execute("a * b + 1", **{"values.a": 3, "values.b": 25}) == (76.0, 76, True)
    assert node.execute("a / 4", **{"values.a": -7}) == (-1.75, -1, True)
    assert node.execute("a - a", **{"values.a": 2.5}) == (0.0, 0, False)
    assert node.execute("a + 1", **{"values.a": True}) == (2.0, 2, True)


@pytest.mark.parametrize("expression, fragment", [
    ("__import__('os').system('true')", "not allowed"),
    ("a.real", "not allowed"),
    ("[1, 2][0]", "not allowed"),
    ("'text'", "only numbers"),
    ("(lambda: 1)()", "not allowed"),
    ("exp(1)", "unknown function"),
    ("c + 1", "unknown name 'c'"),
    ("1 / 0", "division by zero"),
    ("10 ** 100000", "exponent"),
    ("sqrt(-1)", "sqrt()"),
    ("1 +", "cannot read"),
    ("", "empty"),
    ("True + 1", "only numbers"),
    ("max(a, key=abs)", "not allowed"),
])
def test_math_expression_refuses_everything_but_arithmetic(expression, fragment):
    with pytest.raises(ValueError, match="^expression: ") as info:
        ComfyMathExpression().execute(expression, **{"values.a": 1, "values.b": 2})
    assert fragment in str(info.value)


def test_math_expression_bad_value_names_the_input():
    with pytest.raises(ValueError, match=r"^values\.b: "):
        ComfyMathExpression().execute("a + b", **{"values.a": 1, "values.b": "2"})


def test_math_expression_in_a_graph():
    result = run({
        "1": {"class_type": "PrimitiveInt", "inputs": {"value": 3}},
        "2": {"class_type": "PrimitiveFloat", "inputs": {"value": 25.0}},
        "3": {"class_type": "ComfyMathExpression",
              "inputs": {"expression": "a * b + 1", "values.a": ["1", 0], "values.b": ["2", 0]}},
        "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 1]}},
    })
    assert result.status_str == "success", result.error
    assert result.outputs["4"] == {"text": ["76"]}


@pytest.mark.parametrize("ratio, megapixels, multiple, expected", [
    ("1:1 (Square)", 1.0, 8, (1024, 1024)),
    ("16:9 (Widescreen)", 1.0, 8, (1368, 768)),        # sqrt(2^20*16/9)=1365.3 -> 1368; 768.0 -> 768
    ("9:16 (Portrait Widescreen)", 0.4, 32, (480, 864)),  # 485.7 -> 480; 863.5 -> 864
    ("3:2 (Photo)", 0.5, 64, (896, 576)),              # 886.8 -> 896; 591.2 -> 576
])
def test_resolution_selector(ratio, megapixels, multiple, expected):
    assert ResolutionSelector().execute(ratio, megapixels, multiple) == expected
    width, height = expected
    w = math.sqrt(megapixels * 2**20 * width / height)
    assert abs(width - w) <= multiple  # consistent with the hand computation


@pytest.mark.parametrize("args, name", [(("5:4", 1.0, 8), "aspect_ratio"), (("1:1 (Square)", 0.0, 8), "megapixels"),
                                        (("1:1 (Square)", 1.0, 7), "multiple"),
                                        (("1:1 (Square)", "big", 8), "megapixels")])
def test_resolution_selector_bad_input(args, name):
    with pytest.raises(ValueError, match=f"^{name}: "):
        ResolutionSelector().execute(*args)
    prompt = {"1": {"class_type": "ResolutionSelector", "inputs": dict(zip(
        ["aspect_ratio", "megapixels", "multiple"], args))},
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    checked = validate_prompt(prompt, CLASSES)
    assert not checked.ok and checked.node_errors["1"]["errors"][0]["extra_info"]["input_name"] == name
