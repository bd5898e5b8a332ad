"""UI-format workflows over HTTP: POST /prompt, /workflow/api, /workflow/ui, /default_workflow."""

import asyncio
import copy

import aiohttp
import pytest

from tests.api_support import events_until_done, post_prompt, receive_json, running_server
from tests.ui_workflows import inp, node, out


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as handle:
        yield handle


def ui_slow_save(text="from the editor", steps=2, filename="ui.png"):
    """LoomTestSlow -> LoomTestSave as the editor saves it (every widget has an input slot)."""
    return {
        "last_node_id": 3, "last_link_id": 1, "version": 0.4, "groups": [], "config": {},
        "extra": {"ds": {"scale": 1.2, "offset": [10, 20]}, "unknown_key": [1, 2]},
        "nodes": [
            node(1, "LoomTestSlow", title="Slow one",
                 inputs=[inp("text", "STRING", widget=True), inp("steps", "INT", widget=True),
                         inp("delay", "FLOAT", widget=True)],
                 outputs=[out("STRING", "STRING", [1])], widgets=[text, steps, 0.0]),
            node(2, "LoomTestSave", inputs=[inp("text", "STRING", 1, widget=True),
                                            inp("filename", "STRING", widget=True)],
                 widgets=["ignored", filename]),
            node(3, "Note", widgets=["a note"]),
        ],
        "links": [[1, 1, 0, 2, 0, "STRING"]],
    }


async def post_json(session, url, body):
    async with session.post(url, json=body) as response:
        return response.status, await response.json()


def test_a_ui_workflow_runs_and_comes_back_from_the_history(server):
    workflow = ui_slow_save()

    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.ws_url + "?clientId=ui") as ws:
                await receive_json(ws)
                status, body = await post_prompt(session, server.url, copy.deepcopy(workflow), "ui")
                assert status == 200, body
                events = await events_until_done(ws, body["prompt_id"])
                executed = [e["data"] for e in events if e["type"] == "executed"]
                assert executed[0]["node"] == "2" and executed[0]["output"]["text"] == ["from the editor x2"]
            async with session.get(f"{server.url}/history/{body['prompt_id']}") as response:
                entry = (await response.json())[body["prompt_id"]]
        number, prompt_id, prompt, extra_data, outputs = entry["prompt"][:5]
        assert prompt["1"] == {"inputs": {"text": "from the editor", "steps": 2, "delay": 0.0},
                               "class_type": "LoomTestSlow", "_meta": {"title": "Slow one"}}
        assert prompt["2"]["inputs"] == {"text": ["1", 0], "filename": "ui.png"}
        assert "3" not in prompt
        saved = extra_data["extra_pnginfo"]["workflow"]
        loom = saved["extra"].pop("loom")
        assert saved == workflow, "the UI workflow the user posted is what the history gives back"
        assert loom["node_packs"] == ["loom_test_pack"]
        assert loom["node_types"] == {"LoomTestSave": "loom_test_pack", "LoomTestSlow": "loom_test_pack"}

    asyncio.run(scenario())


def test_comfyui_editor_style_post_keeps_its_workflow(server):
    """ComfyUI's editor posts the API prompt and the UI workflow in extra_pnginfo."""
    workflow = ui_slow_save(text="api style")

    async def scenario():
        async with aiohttp.ClientSession() as session:
            status, converted = await post_json(session, f"{server.url}/workflow/api", {"workflow": workflow})
            assert status == 200 and converted["warnings"] == []
            status, body = await post_prompt(session, server.url, converted["prompt"],
                                             extra_data={"extra_pnginfo": {"workflow": workflow}})
            assert status == 200, body
            for _ in range(100):
                async with session.get(f"{server.url}/history/{body['prompt_id']}") as response:
                    entry = (await response.json()).get(body["prompt_id"])
                if entry:
                    break
                await asyncio.sleep(0.05)
        saved = entry["prompt"][3]["extra_pnginfo"]["workflow"]
        assert saved["nodes"] == workflow["nodes"] and "loom" in saved["extra"]

    asyncio.run(scenario())


def test_missing_node_types_are_refused_with_the_list(server):
    workflow = ui_slow_save()
    workflow["nodes"] += [node(7, "NotInstalled", title="Fancy"), node(8, "NotInstalled"),
                          node(9, "AlsoMissing", mode=4)]

    async def scenario():
        async with aiohttp.ClientSession() as session:
            status, body = await post_prompt(session, server.url, workflow)
            assert status == 400
            assert body["error"]["type"] == "missing_node_type"
            assert body["error"]["extra_info"]["missing"] == [
                {"class_type": "NotInstalled", "count": 2,
                 "nodes": [{"id": "7", "title": "Fancy"}, {"id": "8", "title": "NotInstalled"}]}]
            async with session.get(f"{server.url}/queue") as response:
                assert (await response.json())["queue_pending"] == []

    asyncio.run(scenario())


def test_short_widgets_values_take_defaults_with_a_warning(server):
    workflow = ui_slow_save()
    workflow["nodes"][0]["widgets_values"] = ["only text"]

    async def scenario():
        async with aiohttp.ClientSession() as session:
            status, body = await post_prompt(session, server.url, workflow)
            assert status == 200, body
            assert [w.split(": ", 1)[1] for w in body["warnings"]] == [
                "no value for 'steps' in widgets_values; its default 3 is used",
                "no value for 'delay' in widgets_values; its default 0.0 is used"]
            assert "node 1 'Slow one' (LoomTestSlow)" in body["warnings"][0]

    asyncio.run(scenario())


@pytest.mark.parametrize("body, status, fragment", [
    ({"workflow": {"1": {"class_type": "LoomTestSlow", "inputs": {}}}}, 400, "UI-format"),
    ({"workflow": {"nodes": [{"id": 1, "type": "LoomTestSlow"}], "links": [[1]]}}, 400, "malformed"),
    ({}, 400, "UI-format"),
])
def test_workflow_api_route_refuses_bad_input(server, body, status, fragment):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            got, answer = await post_json(session, f"{server.url}/workflow/api", body)
            assert got == status
            text = str(answer)
            assert fragment in text and "Traceback" not in text

    asyncio.run(scenario())


def test_api_to_ui_and_back_over_http(server):
    prompt = {"1": {"class_type": "LoomTestSlow", "inputs": {"text": "x", "steps": 4, "delay": 0.0}},
              "2": {"class_type": "LoomTestSave", "inputs": {"text": ["1", 0], "filename": "b.png"}}}

    async def scenario():
        async with aiohttp.ClientSession() as session:
            status, answer = await post_json(session, f"{server.url}/workflow/ui", {"prompt": prompt})
            assert status == 200
            workflow = answer["workflow"]
            assert [n["type"] for n in workflow["nodes"]] == ["LoomTestSlow", "LoomTestSave"]
            assert workflow["links"] == [[1, 1, 0, 2, 0, "STRING"]]
            status, back = await post_json(session, f"{server.url}/workflow/api", {"workflow": workflow})
            assert status == 200
            assert {k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in back["prompt"].items()} == prompt
            status, answer = await post_json(session, f"{server.url}/workflow/ui", {"prompt": [1]})
            assert status == 400 and "JSON object" in answer["error"]["details"]

    asyncio.run(scenario())


def test_default_workflow_is_served_as_a_ui_workflow(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{server.url}/default_workflow") as response:
                workflow = await response.json()
            async with session.get(f"{server.url}/default_workflow?format=api") as response:
                api = await response.json()
            assert workflow["version"] == 0.4 and len(workflow["nodes"]) == 7 and len(workflow["links"]) == 9
            status, back = await post_json(session, f"{server.url}/workflow/api", {"workflow": workflow})
            assert status == 200
            assert back["prompt"] == api

    asyncio.run(scenario())


@pytest.mark.parametrize("raw, fragment", [
    ('{"prompt": {}, "number": NaN}', "number: numbers must be finite"),
    ('{"prompt": {}, "number": 1e400}', "number: numbers must be finite"),
    ('{"prompt": {"1": {"class_type": "LoomTestSlow", "inputs": {"delay": Infinity}}}}',
     '"node_errors": {"1": {"errors": [{"type": "value_not_finite"'),
    ('{"prompt": {}, "extra_data": {"a": [1, -Infinity]}}', "extra_data.a.1: numbers must be finite"),
    ('{"prompt": {}, "priority": 99999999999999999999}', "priority"),
    ('{"prompt": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
    ('{"prompt": {}, "number": ' + "9" * 5000 + "}", "not valid JSON"),
])
def test_non_finite_and_out_of_range_numbers_are_refused_and_the_server_restarts(tmp_path, raw, fragment):
    """A NaN stored in the queue used to stop the server from ever starting again."""
    async def post(url):
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/prompt", data=raw) as response:
                return response.status, await response.text()

    with running_server(tmp_path) as handle:
        status, text = asyncio.run(post(handle.url))
    assert status == 400 and fragment in text, text
    with running_server(tmp_path) as handle:  # same database: still starts
        assert asyncio.run(post(handle.url))[0] == 400
