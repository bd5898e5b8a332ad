"""Websocket events and the prompt lifecycle, over a real socket."""

import asyncio
import struct

import aiohttp
import pytest

from tests.api_support import (events_until_done, post_prompt, receive_json, running_server, slow_prompt,
                               wait_for)


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as handle:
        yield handle


def types(events):
    return [event["type"] for event in events]


def test_event_order_history_and_cached_rerun(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.ws_url + "?clientId=alice") as ws:
                hello = await receive_json(ws)
                assert hello == {"type": "status",
                                 "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": "alice"}}

                status, body = await post_prompt(session, server.url, slow_prompt(steps=3), "alice")
                assert status == 200 and body["node_errors"] == {} and isinstance(body["number"], (int, float))
                prompt_id = body["prompt_id"]
                events = [e for e in await events_until_done(ws, prompt_id) if e["type"] != "status"]
                states = [e["data"]["nodes"] for e in events if e["type"] == "progress_state"]
                events = [e for e in events if e["type"] != "progress_state"]
                assert types(events) == ["execution_start", "execution_cached", "executing", "progress", "progress",
                                         "progress", "executing", "executed", "execution_success", "executing"]
                # ComfyUI's per-node progress_state: node 1 runs 1..3 of 3, then finishes; node 2 runs
                assert [(s["1"]["state"], s["1"]["value"]) for s in states[:4]] == [
                    ("running", 0.0), ("running", 1.0), ("running", 2.0), ("running", 3.0)]
                assert states[4]["1"]["state"] == "finished" and states[4]["2"]["state"] == "running"
                assert states[-1]["2"]["state"] == "finished" and states[-1]["1"]["max"] == 3.0
                assert [e["data"]["value"] for e in events if e["type"] == "progress"] == [1, 2, 3]
                assert [e["data"]["node"] for e in events if e["type"] == "executing"] == ["1", "2", None]
                executed = events[types(events).index("executed")]["data"]
                assert executed["node"] == "2" and executed["output"]["text"] == ["hello x3"]
                assert all(e["data"]["prompt_id"] == prompt_id for e in events)

                # the history entry is stored before the final "executing null"
                async with session.get(f"{server.url}/history/{prompt_id}") as response:
                    entry = (await response.json())[prompt_id]
                assert entry["prompt"][1] == prompt_id and entry["prompt"][4] == ["2"]
                assert entry["status"]["status_str"] == "success" and entry["status"]["completed"] is True
                assert entry["outputs"]["2"]["images"][0]["filename"] == "loom_test.png"

                # the same graph again: everything comes from the cache
                status, body = await post_prompt(session, server.url, slow_prompt(steps=3), "alice")
                events = [e for e in await events_until_done(ws, body["prompt_id"]) if e["type"] != "status"]
                cached = events[types(events).index("execution_cached")]["data"]["nodes"]
                assert sorted(cached) == ["1", "2"]
                assert "progress" not in types(events)

                # POST /free drops the cached outputs: the next run computes again
                async with session.post(f"{server.url}/free", json={"free_memory": True}) as response:
                    assert response.status == 200
                _, freed = await post_prompt(session, server.url, slow_prompt(steps=3), "alice")
                events = await events_until_done(ws, freed["prompt_id"])
                assert types(events).count("progress") == 3

                async with session.get(f"{server.url}/api/history?max_items=2") as response:
                    assert list(await response.json()) == [body["prompt_id"], freed["prompt_id"]]
                async with session.get(f"{server.url}/api/history?max_items=1") as response:
                    assert list(await response.json()) == [freed["prompt_id"]]
                async with session.get(f"{server.url}/history/unknown") as response:
                    assert await response.json() == {}

    asyncio.run(scenario())


def test_error_then_next_prompt_works(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.ws_url + "?clientId=bob") as ws:
                await receive_json(ws)
                failing = {"1": {"class_type": "LoomTestFail", "inputs": {"text": "x"}}}
                _, body = await post_prompt(session, server.url, failing, "bob")
                events = await events_until_done(ws, body["prompt_id"])
                error = next(e["data"] for e in events if e["type"] == "execution_error")
                assert error["node_id"] == "1" and error["node_type"] == "LoomTestFail"
                assert "always fails" in error["exception_message"]
                async with session.get(f"{server.url}/history/{body['prompt_id']}") as response:
                    entry = (await response.json())[body["prompt_id"]]
                assert entry["status"]["status_str"] == "error" and entry["status"]["completed"] is False

                _, body = await post_prompt(session, server.url, slow_prompt(text="after"), "bob")
                events = await events_until_done(ws, body["prompt_id"])
                assert "execution_success" in types(events)

    asyncio.run(scenario())


def test_invalid_prompts_are_400_with_node_errors(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            bad_input = slow_prompt()
            bad_input["1"]["inputs"]["steps"] = "many"
            status, body = await post_prompt(session, server.url, bad_input)
            assert status == 400 and "1" in body["node_errors"] and body["error"]["type"]
            status, body = await post_prompt(session, server.url, {"1": {"class_type": "NoSuchNode", "inputs": {}}})
            assert status == 400 and body["error"]["type"] == "missing_node_type"
            async with session.post(f"{server.url}/prompt", data=b"{not json",
                                    headers={"Content-Type": "text/plain"}) as response:
                assert response.status == 400
                assert "not valid JSON" in (await response.json())["error"]["message"]
            async with session.post(f"{server.url}/prompt", json={"client_id": "x"}) as response:
                assert response.status == 400 and (await response.json())["error"]["type"] == "no_prompt"
            # JSON sent as text/plain is still read
            async with session.post(f"{server.url}/prompt", data=b'{"prompt": %s}' % str(slow_prompt()).replace(
                    "'", '"').encode(), headers={"Content-Type": "text/plain"}) as response:
                assert response.status == 200

    asyncio.run(scenario())


def test_interrupt_running_prompt(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.ws_url + "?clientId=carol") as ws:
                await receive_json(ws)
                _, body = await post_prompt(session, server.url, slow_prompt(steps=400, delay=0.02), "carol")
                prompt_id = body["prompt_id"]
                while (await receive_json(ws))["type"] != "progress":
                    pass
                # naming another prompt does not interrupt this one
                async with session.post(f"{server.url}/interrupt", json={"prompt_id": "other"}) as response:
                    assert response.status == 200
                await asyncio.sleep(0.1)
                async with session.get(f"{server.url}/queue") as response:
                    assert [item[1] for item in (await response.json())["queue_running"]] == [prompt_id]
                async with session.post(f"{server.url}/interrupt", json={"prompt_id": prompt_id}) as response:
                    assert response.status == 200
                events = await events_until_done(ws, prompt_id)
                interrupted = next(e["data"] for e in events if e["type"] == "execution_interrupted")
                assert interrupted["node_id"] == "1"
                assert "execution_success" not in types(events)

    asyncio.run(scenario())


def test_two_clients_get_only_their_events_and_reconnect_keeps_them(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            first = await session.ws_connect(server.ws_url + "?clientId=one")
            second = await session.ws_connect(server.ws_url + "?clientId=two")
            await receive_json(first)
            await receive_json(second)
            _, mine = await post_prompt(session, server.url, slow_prompt(text="one", steps=2), "one")
            _, theirs = await post_prompt(session, server.url, slow_prompt(text="two", steps=5), "two")
            events_one = await events_until_done(first, mine["prompt_id"])
            events_two = await events_until_done(second, theirs["prompt_id"])
            for events, own in ((events_one, mine["prompt_id"]), (events_two, theirs["prompt_id"])):
                ids = {e["data"].get("prompt_id") for e in events if e["type"] != "status"}
                assert ids == {own}
            assert len([e for e in events_two if e["type"] == "progress"]) == 5
            await first.close()

            # reconnect with the same clientId while a prompt of that client runs
            _, slow = await post_prompt(session, server.url, slow_prompt(text="again", steps=60, delay=0.03), "one")
            await asyncio.sleep(0.2)
            again = await session.ws_connect(server.ws_url + "?clientId=one")
            events = await events_until_done(again, slow["prompt_id"])
            assert "progress" in types(events) and "execution_success" in types(events)
            await again.close()
            await second.close()

    asyncio.run(scenario())


PREVIEW_PROMPT = {"1": {"class_type": "LoomTestPreview", "inputs": {"text": "p"}},
                  "2": {"class_type": "LoomTestSave", "inputs": {"text": ["1", 0], "filename": "pv.png"}}}


def _binary_frames(server, extra_data=None, feature_flags=None):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.ws_url + "?clientId=pv") as ws:
                if feature_flags is not None:
                    await ws.send_json({"type": "feature_flags", "data": feature_flags})
                    answer = await receive_json(ws)
                    if answer["type"] == "status":
                        answer = await receive_json(ws)
                    assert answer["type"] == "feature_flags" and answer["data"]["supports_preview_metadata"]
                else:
                    await receive_json(ws)
                prompt = {k: dict(v, inputs=dict(v["inputs"])) for k, v in PREVIEW_PROMPT.items()}
                prompt["2"]["inputs"]["filename"] = f"pv{len(str(extra_data))}{feature_flags is None}.png"
                _, body = await post_prompt(session, server.url, prompt, "pv", extra_data=extra_data or {})
                events = await events_until_done(ws, body["prompt_id"])
                return [e["data"] for e in events if e["type"] == "binary"]

    return asyncio.run(scenario())


def test_no_preview_frames_unless_asked(server):
    """ComfyUI's default (--preview-method none): a client that never asks gets none."""
    assert _binary_frames(server) == []


def test_preview_is_a_binary_frame_when_the_prompt_asks(server):
    frames = _binary_frames(server, extra_data={"preview_method": "auto"})
    assert len(frames) == 1
    event_type, image_type = struct.unpack(">II", frames[0][:8])
    assert (event_type, image_type) == (1, 2)
    assert frames[0][8:16] == b"\x89PNG\r\n\x1a\n"


def test_preview_with_metadata_for_clients_that_support_it(server):
    import json

    frames = _binary_frames(server, extra_data={"preview_method": "auto"},
                            feature_flags={"supports_preview_metadata": True})
    assert len(frames) == 1
    event_type, length = struct.unpack(">II", frames[0][:8])
    metadata = json.loads(frames[0][8:8 + length])
    assert event_type == 4 and metadata["node_id"] == "1" and metadata["image_type"] == "image/png"
    assert frames[0][8 + length:16 + length] == b"\x89PNG\r\n\x1a\n"


def test_server_wide_preview_method(tmp_path):
    with running_server(tmp_path, preview_method="auto") as handle:
        assert len(_binary_frames(handle)) == 1


def test_status_is_broadcast_on_queue_changes(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.ws_url + "?clientId=watcher") as ws:
                await receive_json(ws)
                await session.post(f"{server.url}/queue/pause")
                _, body = await post_prompt(session, server.url, slow_prompt(), "someone-else")

                async def saw_one_queued():
                    event = await receive_json(ws)
                    return event["type"] == "status" and event["data"]["status"]["exec_info"]["queue_remaining"] == 1

                await wait_for(saw_one_queued)
                async with session.get(f"{server.url}/prompt") as response:
                    assert await response.json() == {"exec_info": {"queue_remaining": 1}}
                await session.post(f"{server.url}/queue/resume")

    asyncio.run(scenario())
