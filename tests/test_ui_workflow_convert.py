"""UI-format workflows -> API prompts (and back), against Loom's real node catalogue.

The pairs in tests/ui_workflows.py are written by hand from ComfyUI's documented
behaviour; no torch is needed (node modules import without it).
"""
import copy
import json
import random
from pathlib import Path

import pytest

from graph.errors import WorkflowError
from graph.ui_workflow import (ConversionError, api_to_ui, apply_to_api, apply_to_ui,
                               is_ui_workflow, ui_to_api)
from graph.ui_workflow.stamp import stamp
from graph.validate import validate_prompt
from graph.workflow import load, to_api
from nodes.registry import NodeRegistry
from tests import ui_workflows as wf
from tests.ui_workflows import inp, node, out

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def registry():
    return NodeRegistry(load_custom_nodes=False).load()


@pytest.fixture
def catalogue(registry):
    return registry.catalogue()


@pytest.mark.parametrize("name", ["kitchen_sink", "with_subgraph", "with_group_node"])
def test_hand_written_pairs_convert_exactly(catalogue, name):
    ui = getattr(wf, name)()
    original = copy.deepcopy(ui)
    conversion = ui_to_api(ui, catalogue)
    assert conversion.prompt == getattr(wf, name + "_api")()
    assert conversion.notes == [] and conversion.warnings == []
    assert ui == original, "conversion must not change the document"


def test_version_1_links_as_objects_equal_version_04_arrays(catalogue):
    ui = wf.kitchen_sink()
    ui["links"] = [{"id": l[0], "origin_id": l[1], "origin_slot": l[2], "target_id": l[3],
                    "target_slot": l[4], "type": l[5]} for l in ui["links"]]
    ui["version"] = 1
    assert ui_to_api(ui, catalogue).prompt == wf.kitchen_sink_api()


def test_converted_prompt_validates(registry, catalogue):
    result = validate_prompt(ui_to_api(wf.kitchen_sink(), catalogue).prompt, registry.classes)
    # no checkpoint file here: only the loader's ckpt_name fails; the muted ImageInvert
    # leaves the PreviewImage without its input, as in ComfyUI
    assert sorted(result.node_errors) == ["4", "43"]
    assert [e["extra_info"]["input_name"] for e in result.node_errors["4"]["errors"]] == ["ckpt_name"]
    assert result.node_errors["43"]["errors"][0]["type"] == "required_input_missing"
    assert result.node_errors["43"]["errors"][0]["extra_info"]["input_name"] == "images"


def test_bypass_picks_the_input_of_the_same_type(catalogue):
    ui = wf.kitchen_sink()
    lora = next(n for n in ui["nodes"] if n["id"] == 10)
    lora["inputs"].reverse()  # clip first, model second: the same slot index no longer fits
    prompt = ui_to_api(ui, catalogue).prompt
    assert prompt["3"]["inputs"]["model"] == ["4", 0]
    assert prompt["6"]["inputs"]["clip"] == ["4", 1]


def test_bypass_without_a_matching_input_drops_the_link(catalogue):
    ui = wf.kitchen_sink()
    lora = next(n for n in ui["nodes"] if n["id"] == 10)
    lora["inputs"] = [inp("clip", "CLIP", 2)]
    prompt = ui_to_api(ui, catalogue).prompt
    assert "model" not in prompt["3"]["inputs"]
    assert prompt["6"]["inputs"]["clip"] == ["4", 1]


def test_active_lora_is_kept(catalogue):
    ui = wf.kitchen_sink()
    next(n for n in ui["nodes"] if n["id"] == 10)["mode"] = 0
    prompt = ui_to_api(ui, catalogue).prompt
    assert prompt["10"]["inputs"] == {"lora_name": "style.safetensors", "strength_model": 0.8,
                                      "strength_clip": 0.8, "model": ["4", 0], "clip": ["4", 1]}
    assert prompt["3"]["inputs"]["model"] == ["10", 0]


def test_muted_subgraph_instance_mutes_its_inner_nodes(catalogue):
    ui = wf.with_subgraph()
    next(n for n in ui["nodes"] if n["id"] == 12)["mode"] = 2
    prompt = ui_to_api(ui, catalogue).prompt
    assert not any(key.startswith("12:") for key in prompt)
    assert "positive" not in prompt["3"]["inputs"]


def test_nested_subgraph_ids_join_the_instance_path(catalogue):
    ui = wf.with_subgraph()
    inner = copy.deepcopy(ui["definitions"]["subgraphs"][0])
    outer_id = "7c3d9a10-0000-4000-8000-00000000abcd"
    outer = {"id": outer_id, "name": "Wrapper", "inputs": inner["inputs"], "outputs": inner["outputs"],
             "nodes": [node(3, wf.SUBGRAPH_ID, inputs=[inp("clip", "CLIP", 201),
                                                       inp("positive text", "STRING", 202, widget=True)],
                            outputs=[out("positive", "CONDITIONING", [203]), out("negative", "CONDITIONING", [204])],
                            widgets=["inner default"])],
             "links": [{"id": 201, "origin_id": -10, "origin_slot": 0, "target_id": 3, "target_slot": 0},
                       {"id": 202, "origin_id": -10, "origin_slot": 1, "target_id": 3, "target_slot": 1},
                       {"id": 203, "origin_id": 3, "origin_slot": 0, "target_id": -20, "target_slot": 0},
                       {"id": 204, "origin_id": 3, "origin_slot": 1, "target_id": -20, "target_slot": 1}]}
    ui["definitions"]["subgraphs"].append(outer)
    next(n for n in ui["nodes"] if n["id"] == 12)["type"] = outer_id
    prompt = ui_to_api(ui, catalogue).prompt
    assert prompt["12:3:1"]["inputs"] == {"text": "a castle on a hill", "clip": ["4", 1]}
    assert prompt["3"]["inputs"]["negative"] == ["12:3:2", 0]


def test_self_containing_subgraph_is_refused(catalogue):
    ui = wf.with_subgraph()
    definition = ui["definitions"]["subgraphs"][0]
    definition["nodes"].append(node(9, wf.SUBGRAPH_ID))
    with pytest.raises(WorkflowError, match="nest"):
        ui_to_api(ui, catalogue)


def test_unknown_node_types_are_listed_with_count_and_place(catalogue):
    ui = wf.kitchen_sink()
    ui["nodes"] += [node(60, "FancyUpscaler", title="Upscale 1", properties={"cnr_id": "fancy-pack"}),
                    node(61, "FancyUpscaler"), node(62, "SharpenPlus", mode=2)]
    with pytest.raises(ConversionError) as info:
        ui_to_api(ui, catalogue)
    error = info.value.error
    assert error["type"] == "missing_node_type"
    assert error["extra_info"]["missing"] == [
        {"class_type": "FancyUpscaler", "count": 2, "pack": "fancy-pack",
         "nodes": [{"id": "60", "title": "Upscale 1"}, {"id": "61", "title": "FancyUpscaler"}]}]
    assert "FancyUpscaler" in error["details"] and "#60 'Upscale 1'" in error["details"]


def test_missing_type_names_the_pack_recorded_by_loom(catalogue):
    ui = wf.kitchen_sink()
    ui["nodes"].append(node(60, "FancyUpscaler"))
    ui["extra"]["loom"] = {"version": "0.1.0", "node_types": {"FancyUpscaler": "fancy_pack"}}
    with pytest.raises(ConversionError) as info:
        ui_to_api(ui, catalogue)
    assert info.value.error["extra_info"]["missing"][0]["pack"] == "fancy_pack"


def test_short_widgets_values_name_the_node_and_input(catalogue):
    ui = wf.kitchen_sink()
    next(n for n in ui["nodes"] if n["id"] == 3)["widgets_values"] = [123, "fixed", 20]
    with pytest.raises(ConversionError) as info:
        ui_to_api(ui, catalogue)
    errors = info.value.node_errors["3"]["errors"]
    # combos have no default to fall back on
    assert [e["extra_info"]["input_name"] for e in errors] == ["sampler_name", "scheduler"]
    assert "node 3 'KSampler'" in errors[0]["details"] and "3 value(s)" in errors[0]["details"]


def test_widgets_added_since_the_workflow_was_saved_take_their_default(catalogue):
    ui = {"nodes": [node(1, "VAEDecodeTiled", inputs=[inp("samples", "LATENT"), inp("vae", "VAE")],
                         outputs=[out("IMAGE", "IMAGE")], widgets=[320])], "links": [], "version": 0.4}
    conversion = ui_to_api(ui, catalogue)
    defaults = {name: spec[1]["default"] for name, spec in catalogue["VAEDecodeTiled"]["input"]["required"].items()
                if name not in ("samples", "vae")}
    assert conversion.prompt["1"]["inputs"] == {**defaults, "tile_size": 320}
    assert any("no value for 'overlap'" in w and "default" in w for w in conversion.warnings)


def test_extra_widget_values_are_a_warning(catalogue):
    ui = wf.kitchen_sink()
    next(n for n in ui["nodes"] if n["id"] == 9)["widgets_values"] = ["loom", "extra"]
    conversion = ui_to_api(ui, catalogue)
    assert conversion.prompt["9"]["inputs"]["filename_prefix"] == "loom"
    assert "node 9 (SaveImage): 1 widget value(s) more" in conversion.warnings[0]


def test_links_to_missing_nodes_are_dropped_and_reported(catalogue):
    ui = wf.kitchen_sink()
    ui["nodes"] = [n for n in ui["nodes"] if n["id"] != 5]   # the latent is gone, its link stays
    ui["links"].append([99, 3, 0, 8, 7, "LATENT"])          # a link nobody refers to
    next(n for n in ui["nodes"] if n["id"] == 9)["inputs"][0]["link"] = 77   # a stale reference
    conversion = ui_to_api(ui, catalogue)
    assert "latent_image" not in conversion.prompt["3"]["inputs"]
    assert "images" not in conversion.prompt["9"]["inputs"]
    assert any("node 5, which does not exist" in note for note in conversion.notes)
    assert any("link 77 does not exist" in note for note in conversion.notes)


def test_a_cycle_converts_and_then_fails_validation_naming_the_nodes(registry, catalogue):
    ui = wf.kitchen_sink()
    ui["nodes"].append(node(70, "LatentUpscaleBy", inputs=[inp("samples", "LATENT", 101)],
                            outputs=[out("LATENT", "LATENT", [100])], widgets=["nearest-exact", 1.5]))
    ksampler = next(n for n in ui["nodes"] if n["id"] == 3)
    ksampler["inputs"][3]["link"] = 100
    ui["links"] += [[100, 70, 0, 3, 3, "LATENT"], [101, 3, 0, 70, 0, "LATENT"]]
    prompt = ui_to_api(ui, catalogue).prompt
    result = validate_prompt(prompt, registry.classes)
    assert not result.ok
    assert result.node_errors["3"]["errors"][0]["type"] == "dependency_cycle"


def test_reroute_loop_is_a_clear_error(catalogue):
    ui = wf.kitchen_sink()
    ui["links"] = [l for l in ui["links"] if l[0] != 8] + [[8, 31, 0, 30, 0, "*"]]
    with pytest.raises(WorkflowError, match="loop"):
        ui_to_api(ui, catalogue)


def test_widgets_values_as_an_object_and_literal_lists(catalogue):
    ui = {"nodes": [node(1, "EmptyLatentImage", outputs=[out("LATENT", "LATENT")],
                         widgets=[]),
                    node(2, "SaveImage", widgets=[["a", "b"]])], "links": [], "version": 0.4}
    ui["nodes"][0]["widgets_values"] = {"width": 64, "height": 32, "batch_size": 2}
    prompt = ui_to_api(ui, catalogue).prompt
    assert prompt["1"]["inputs"] == {"width": 64, "height": 32, "batch_size": 2}
    assert prompt["2"]["inputs"]["filename_prefix"] == {"__value__": ["a", "b"]}


def test_new_primitive_nodes_run_as_nodes_now_that_loom_has_them(registry, catalogue):
    ui = {"nodes": [node(1, "PrimitiveInt", outputs=[out("INT", "INT", [1, 2])], widgets=[96, "fixed"]),
                    node(2, "EmptyLatentImage", inputs=[inp("width", "INT", 1, widget=True),
                                                        inp("height", "INT", 2, widget=True)],
                         outputs=[out("LATENT", "LATENT")], widgets=[64, 64, 1])],
          "links": [[1, 1, 0, 2, 0, "INT"], [2, 1, 0, 2, 1, "INT"]], "version": 0.4}
    prompt = ui_to_api(ui, catalogue).prompt
    assert prompt == {
        "1": {"inputs": {"value": 96}, "class_type": "PrimitiveInt", "_meta": {"title": "Int"}},
        "2": {"inputs": {"width": ["1", 0], "height": ["1", 0], "batch_size": 1},
              "class_type": "EmptyLatentImage", "_meta": {"title": "Empty Latent Image"}}}
    assert validate_prompt({**prompt, "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}}},
                           registry.classes).ok
    # the same width and height as when the value was inlined
    assert registry.classes["PrimitiveInt"]().execute(**prompt["1"]["inputs"]) == (96,)


def test_load_image_upload_value_is_skipped(catalogue):
    ui = {"nodes": [node(1, "LoadImage", outputs=[out("IMAGE", "IMAGE"), out("MASK", "MASK")],
                         widgets=["cat.png", "image"]),
                    # older editors wrote the upload button's value after every widget
                    node(2, "LoadImageMask", outputs=[out("MASK", "MASK")], widgets=["m.png", "red", "image"])],
          "links": [], "version": 0.4}
    conversion = ui_to_api(ui, catalogue)
    assert conversion.prompt["1"]["inputs"] == {"image": "cat.png"}
    assert conversion.prompt["2"]["inputs"] == {"image": "m.png", "channel": "red"}
    assert conversion.warnings == []


@pytest.mark.parametrize("bad, fragment", [
    ({"nodes": [{"type": "KSampler"}], "links": []}, "needs an 'id'"),
    ({"nodes": [{"id": 1}], "links": []}, "node 1 has no type"),
    ({"nodes": [node(1, "SaveImage"), node(1, "SaveImage")], "links": []}, "used twice"),
    ({"nodes": [node(1, "SaveImage")], "links": [[1, 2]]}, "link [1, 2] is malformed"),
    ({"nodes": [node(1, "SaveImage")], "links": [{"id": 1}]}, "is malformed"),
])
def test_malformed_documents_are_clear_errors(catalogue, bad, fragment):
    with pytest.raises(WorkflowError) as info:
        ui_to_api(bad, catalogue)
    assert fragment in str(info.value)


def test_load_detects_the_format(catalogue):
    assert load(wf.kitchen_sink(), catalogue).ui is not None
    api = load(wf.kitchen_sink_api(), catalogue)
    assert api.ui is None and api.prompt == wf.kitchen_sink_api()
    assert is_ui_workflow(wf.with_subgraph()) and not is_ui_workflow(wf.kitchen_sink_api())


@pytest.mark.parametrize("source", ["default", "kitchen_sink", "subgraph"])
def test_api_to_ui_to_api_round_trip_is_equal(catalogue, source):
    if source == "default":
        prompt = to_api(json.loads((REPO / "workflows" / "txt2img_sd15.json").read_text()))
    elif source == "kitchen_sink":
        prompt = wf.kitchen_sink_api()
    else:
        prompt = wf.with_subgraph_api()
    ui = api_to_ui(prompt, catalogue)
    assert ui["version"] == 0.4 and is_ui_workflow(ui)
    back = ui_to_api(json.loads(json.dumps(ui)), catalogue).prompt
    ids = {str(n["id"]): n for n in ui["nodes"]}
    renamed = {old: str(new["id"]) for old, new in zip(prompt, ui["nodes"])}
    expected = {renamed[k]: {**v, "inputs": {n: ([renamed[x[0]], x[1]] if isinstance(x, list) else x)
                                             for n, x in v["inputs"].items()}}
                for k, v in prompt.items()}
    assert back == expected
    assert set(ids) == set(back)


def test_api_to_ui_lays_out_columns_by_depth(catalogue):
    ui = api_to_ui(wf.kitchen_sink_api(), catalogue)
    x = {n["id"]: n["pos"][0] for n in ui["nodes"]}
    for link in ui["links"]:
        assert x[link[1]] < x[link[3]], link
    # nodes sharing a column do not overlap
    by_column = {}
    for n in ui["nodes"]:
        by_column.setdefault(n["pos"][0], []).append(n)
    for members in by_column.values():
        members.sort(key=lambda n: n["pos"][1])
        for a, b in zip(members, members[1:]):
            assert a["pos"][1] + a["size"][1] <= b["pos"][1]


def test_control_after_generate_applies_each_widgets_mode(catalogue):
    ui = wf.kitchen_sink()
    ksampler = next(n for n in ui["nodes"] if n["id"] == 3)
    ksampler["widgets_values"][1] = "increment"
    changes = apply_to_ui(ui, catalogue)
    assert changes == [(3, "seed", 123, 124)] and ksampler["widgets_values"][0] == 124
    ksampler["widgets_values"][1] = "decrement"
    apply_to_ui(ui, catalogue)
    assert ksampler["widgets_values"][0] == 123
    ksampler["widgets_values"][1] = "fixed"
    assert apply_to_ui(ui, catalogue) == []
    ksampler["widgets_values"][:2] = [0, "decrement"]
    apply_to_ui(ui, catalogue)
    assert ksampler["widgets_values"][0] == 0, "clamped at min"


def test_randomize_stays_in_range_and_is_seeded(catalogue):
    ui_a, ui_b = wf.kitchen_sink(), wf.kitchen_sink()
    apply_to_ui(ui_a, catalogue, rng=random.Random(5))
    apply_to_ui(ui_b, catalogue, rng=random.Random(5))
    seed_a = next(n for n in ui_a["nodes"] if n["id"] == 3)["widgets_values"][0]
    assert seed_a == next(n for n in ui_b["nodes"] if n["id"] == 3)["widgets_values"][0]
    assert seed_a != 123 and 0 <= seed_a <= 1125899906842624
    assert next(n for n in ui_a["nodes"] if n["id"] == 21)["widgets_values"][0] == 128, "fixed primitive"


def test_control_mode_override_on_api_prompts(catalogue):
    prompt = wf.kitchen_sink_api()
    assert apply_to_api(prompt, catalogue, "increment") == [("3", "seed", 123, 124)]
    assert prompt["3"]["inputs"]["seed"] == 124


def test_stamp_records_version_and_packs_and_keeps_the_rest(catalogue):
    ui = wf.kitchen_sink()
    stamped = stamp(ui, catalogue)
    assert stamped["extra"]["loom"]["node_packs"] == ["core"]
    assert stamped["extra"]["loom"]["version"]
    assert stamped["extra"]["ds"] == ui["extra"]["ds"] and "loom" not in ui["extra"]
    assert {k: v for k, v in stamped.items() if k != "extra"} == {k: v for k, v in ui.items() if k != "extra"}


def test_kjnodes_set_and_get_nodes_are_followed(catalogue):
    """SetNode/GetNode pairs (KJNodes' named links) act like a long reroute."""
    ui = wf.kitchen_sink()
    ui["links"] = [l for l in ui["links"] if l[0] != 11] + [[11, 61, 0, 8, 1, "VAE"], [19, 4, 2, 60, 0, "VAE"]]
    ui["nodes"] += [node(60, "SetNode", inputs=[inp("VAE", "VAE", 19)], outputs=[out("*", "*")], widgets=["vae"]),
                    node(61, "GetNode", outputs=[out("VAE", "VAE", [11])], widgets=["vae"])]
    assert ui_to_api(ui, catalogue).prompt == wf.kitchen_sink_api()
    next(n for n in ui["nodes"] if n["id"] == 61)["widgets_values"] = ["other"]
    conversion = ui_to_api(ui, catalogue)
    assert "vae" not in conversion.prompt["8"]["inputs"]
    assert any("no SetNode is named 'other'" in note for note in conversion.notes)


def test_rgthree_reroutes_and_ui_only_nodes(catalogue):
    ui = wf.kitchen_sink()
    next(n for n in ui["nodes"] if n["id"] == 30)["type"] = "Reroute (rgthree)"
    ui["nodes"] += [node(62, "Fast Groups Bypasser (rgthree)", outputs=[out("OPT_CONNECTION", "*")]),
                    node(63, "Bookmark (rgthree)", widgets=["1", 1])]
    assert ui_to_api(ui, catalogue).prompt == wf.kitchen_sink_api()


def test_dynamic_prompts_are_resolved_like_comfyuis_editor(catalogue):
    ui = wf.kitchen_sink()
    next(n for n in ui["nodes"] if n["id"] == 7)["widgets_values"] = [
        "a {red|{dark|light} blue} car // not this\n/* nor\n this */on a road"]
    texts = {ui_to_api(ui, catalogue, rng=random.Random(seed)).prompt["7"]["inputs"]["text"]
             for seed in range(40)}
    assert texts == {"a red car \non a road", "a dark blue car \non a road", "a light blue car \non a road"}
    # SaveImage's filename_prefix is not a dynamic prompt
    next(n for n in ui["nodes"] if n["id"] == 9)["widgets_values"] = ["{a|b}"]
    assert ui_to_api(ui, catalogue).prompt["9"]["inputs"]["filename_prefix"] == "{a|b}"
