"""Routes ComfyUI's frontend and clients use, over a real socket, with their bad inputs."""

import asyncio
import json
import struct

import aiohttp
import pytest

from tests.api_support import events_until_done, post_prompt, receive_json, running_server, slow_prompt


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as handle:
        yield handle


async def call(method, url, **options):
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, **options) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text


def run(coroutine):
    return asyncio.run(coroutine)


def test_jobs_list_detail_assets_and_cancel(server):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.ws_url + "?clientId=jobs") as ws:
                await receive_json(ws)
                _, done = await post_prompt(session, server.url, slow_prompt(filename="a.png"), "jobs")
                await events_until_done(ws, done["prompt_id"])
                async with session.post(f"{server.url}/queue/pause") as response:
                    assert response.status == 200
                _, waiting = await post_prompt(session, server.url, slow_prompt(filename="b.png"), "jobs")
                _, other = await post_prompt(session, server.url, slow_prompt(filename="c.png"), "jobs")
        return done["prompt_id"], waiting["prompt_id"], other["prompt_id"]

    done, waiting, other = run(scenario())
    status, listing = run(call("GET", f"{server.url}/api/jobs"))
    assert status == 200 and listing["pagination"]["total"] == 3
    assert {j["id"]: j["status"] for j in listing["jobs"]} == {done: "completed", waiting: "pending", other: "pending"}
    assert [j["id"] for j in listing["jobs"]][0] == other, "newest first by default"
    status, page = run(call("GET", f"{server.url}/api/jobs?status=pending&limit=1&sort_order=asc"))
    assert [j["id"] for j in page["jobs"]] == [waiting] and page["pagination"]["has_more"] is True
    status, job = run(call("GET", f"{server.url}/api/jobs/{done}"))
    assert job["status"] == "completed" and job["outputs_count"] == 1
    assert job["preview_output"]["filename"] == "a.png" and job["workflow"]["prompt"]["1"]["class_type"] == "LoomTestSlow"
    assert job["execution_end_time"] >= job["execution_start_time"] > 0
    status, assets = run(call("GET", f"{server.url}/api/jobs/{done}/assets"))
    assert [a["filename"] for a in assets["assets"]] == ["a.png"]
    status, answer = run(call("POST", f"{server.url}/api/jobs/{waiting}/cancel"))
    assert status == 200 and answer["cancelled"] is True
    status, answer = run(call("POST", f"{server.url}/api/jobs/cancel", json={"job_ids": [other, "nope"]}))
    assert answer == {"cancelled": [other]}
    status, queue = run(call("GET", f"{server.url}/queue"))
    assert queue["queue_pending"] == []
    assert run(call("POST", f"{server.url}/api/jobs/{done}/cancel"))[0] == 409


@pytest.mark.parametrize("path, status, fragment", [
    ("/api/jobs/unknown", 404, "not found"),
    ("/api/jobs?status=exploded", 400, "status"),
    ("/api/jobs?limit=0", 400, "limit"),
    ("/api/jobs?sort_by=name", 400, "sort_by"),
])
def test_jobs_bad_input(server, path, status, fragment):
    got, body = run(call("GET", server.url + path))
    assert got == status and fragment in json.dumps(body)


def test_users_templates_i18n_and_user_css(server):
    assert run(call("GET", f"{server.url}/api/users")) == (200, {"storage": "server", "migrated": True})
    assert run(call("GET", f"{server.url}/api/i18n")) == (200, {})
    assert run(call("GET", f"{server.url}/api/global_subgraphs")) == (200, {})
    assert run(call("GET", f"{server.url}/api/workflow_templates")) == (200, {})
    assert run(call("GET", f"{server.url}/templates/index.json")) == (200, [])
    assert run(call("GET", f"{server.url}/templates/nope.json"))[0] == 404
    assert run(call("GET", f"{server.url}/user.css")) == (200, "")
    assert run(call("GET", f"{server.url}/api/userdata/user.css")) == (200, "")


def test_userdata_move_and_times_in_ms(server):
    base = f"{server.url}/api/userdata"
    assert run(call("POST", f"{base}/workflows%2Fa.json", data=b"{}"))[0] == 200
    assert run(call("POST", f"{base}/workflows%2Fb.json", data=b"[]"))[0] == 200
    assert run(call("POST", f"{base}/workflows%2Fa.json/move/workflows%2Fb.json?overwrite=false"))[0] == 409
    status, info = run(call("POST", f"{base}/workflows%2Fa.json/move/workflows%2Fc.json?full_info=true"))
    assert status == 200 and info["path"] == "workflows/c.json" and info["modified"] > 10 ** 12
    assert run(call("POST", f"{base}/workflows%2Fc.json/move/..%2F..%2Fescape.json"))[0] == 400
    assert run(call("POST", f"{base}/workflows%2Fmissing.json/move/workflows%2Fd.json"))[0] == 404
    status, listing = run(call("GET", f"{server.url}/api/userdata?dir=workflows&full_info=true"))
    assert sorted(item["path"] for item in listing) == ["b.json", "c.json"]
    assert all(item["modified"] > 10 ** 12 for item in listing)


def _safetensors(path, metadata):
    header = json.dumps({"__metadata__": metadata, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\0\0\0\0")


def test_models_and_view_metadata(tmp_path):
    loras = tmp_path / "models" / "loras"
    loras.mkdir(parents=True)
    _safetensors(loras / "style.safetensors", {"ss_network_dim": "8"})
    (loras / "old.ckpt").write_bytes(b"pickle")
    with running_server(tmp_path, base_directory=str(tmp_path)) as handle:
        folders = run(call("GET", f"{handle.url}/api/experiment/models"))[1]
        assert "loras" in [f["name"] for f in folders]
        files = run(call("GET", f"{handle.url}/api/experiment/models/loras"))[1]
        style = next(f for f in files if f["name"] == "style.safetensors")
        assert style["size"] > 0 and style["modified"] > 10 ** 12 and style["pathIndex"] == 0
        assert run(call("GET", f"{handle.url}/api/experiment/models/nope"))[0] == 404
        assert run(call("GET", f"{handle.url}/api/view_metadata/loras?filename=style.safetensors")) == (
            200, {"ss_network_dim": "8"})
        assert run(call("GET", f"{handle.url}/api/view_metadata/loras?filename=../../secret.safetensors"))[0] == 400
        assert run(call("GET", f"{handle.url}/api/view_metadata/loras?filename=old.ckpt"))[0] == 400
        assert run(call("GET", f"{handle.url}/api/view_metadata/loras?filename=gone.safetensors"))[0] == 404
        paths = run(call("GET", f"{handle.url}/internal/folder_paths"))[1]
        assert paths["loras"] == [str(loras)]


def test_internal_files_and_logs(server, tmp_path):
    (tmp_path / "input").mkdir(exist_ok=True)
    (tmp_path / "input" / "cat.png").write_bytes(b"x")
    assert run(call("GET", f"{server.url}/internal/files/input"))[1] == ["cat.png"]
    assert run(call("GET", f"{server.url}/internal/files/secret"))[0] == 400

    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.ws_url + "?clientId=logger") as ws:
                await receive_json(ws)
                async with session.patch(f"{server.url}/internal/logs/subscribe",
                                         json={"enabled": True, "clientId": "logger"}) as response:
                    assert response.status == 200
                _, body = await post_prompt(session, server.url, slow_prompt(filename="l.png"))
                while True:
                    message = await receive_json(ws)
                    if message["type"] == "logs":
                        return message["data"]

    data = run(scenario())
    assert any("started" in entry["m"] for entry in data["entries"])
    raw = run(call("GET", f"{server.url}/internal/logs/raw"))[1]
    assert raw["entries"] and "size" in raw
    assert isinstance(run(call("GET", f"{server.url}/internal/logs"))[1], str)
    assert run(call("PATCH", f"{server.url}/internal/logs/subscribe", json={"enabled": True}))[0] == 400


def test_not_found_says_so(server):
    status, body = run(call("GET", f"{server.url}/models/nope"))
    assert status == 404 and body["error"]["type"] == "not_found"
