"""Queue extensions over HTTP: priorities, pause/resume, reordering, delete and clear."""

import asyncio

import aiohttp

from tests.api_support import post_prompt, running_server, slow_prompt, wait_for


async def pending_ids(session, url):
    async with session.get(f"{url}/queue") as response:
        queue = await response.json()
    for item in queue["queue_pending"]:
        assert len(item) == 5 and isinstance(item[2], dict) and isinstance(item[4], list)
    return [item[1] for item in queue["queue_pending"]], queue["paused"]


def test_priorities_pause_move_and_run_order(tmp_path):
    with running_server(tmp_path) as server:
        async def scenario():
            async with aiohttp.ClientSession() as session:
                url = server.url
                async with session.post(f"{url}/queue/pause") as response:
                    assert response.status == 200

                async def submit(name, **extra):
                    status, body = await post_prompt(session, url, slow_prompt(text=name, filename=f"{name}.png"),
                                                     prompt_id=name, **extra)
                    assert status == 200, body
                    return body

                await submit("a")
                await submit("b")
                await submit("c")
                await submit("urgent", priority=10)
                await submit("first", front=True)
                assert await pending_ids(session, url) == (["urgent", "first", "a", "b", "c"], True)

                async with session.post(f"{url}/api/queue", json={"priority": {"c": 20}}) as response:
                    assert response.status == 200
                assert (await pending_ids(session, url))[0] == ["c", "urgent", "first", "a", "b"]

                async with session.post(f"{url}/queue", json={"move": {"prompt_id": "b", "to": 1}}) as response:
                    assert response.status == 200
                assert (await pending_ids(session, url))[0] == ["c", "b", "urgent", "first", "a"]
                async with session.post(f"{url}/queue", json={"move": {"prompt_id": "c", "after": "a"}}):
                    pass
                assert (await pending_ids(session, url))[0] == ["b", "urgent", "first", "a", "c"]

                async with session.post(f"{url}/queue", json={"delete": ["first"]}) as response:
                    assert (await response.json())["deleted"] == ["first"]
                status, body = await post_prompt(session, url, slow_prompt(), prompt_id="a")
                assert status == 400 and "already used" in body["error"]["message"]

                async with session.post(f"{url}/queue/resume") as response:
                    assert response.status == 200

                async def all_done():
                    async with session.get(f"{url}/history") as response:
                        history = await response.json()
                    return list(history) if len(history) == 4 else None

                order = await wait_for(all_done)
                assert order == ["b", "urgent", "a", "c"]
                assert await pending_ids(session, url) == ([], False)

                # clear empties the pending list only
                await session.post(f"{url}/queue/pause")
                await submit("x")
                await submit("y")
                async with session.post(f"{url}/queue", json={"clear": True}) as response:
                    assert response.status == 200
                assert await pending_ids(session, url) == ([], True)
                async with session.post(f"{url}/history", json={"delete": ["a"]}):
                    pass
                async with session.get(f"{url}/history") as response:
                    assert list(await response.json()) == ["b", "urgent", "c"]
                async with session.post(f"{url}/history", json={"clear": True}):
                    pass
                async with session.get(f"{url}/history") as response:
                    assert await response.json() == {}

        asyncio.run(scenario())


def test_info_routes(tmp_path):
    (tmp_path / "models" / "embeddings").mkdir(parents=True)
    with running_server(tmp_path, base_directory=str(tmp_path)) as server:
        (tmp_path / "models" / "embeddings" / "style.safetensors").write_bytes(b"x")
        (tmp_path / "models" / "checkpoints").mkdir(parents=True)
        (tmp_path / "models" / "checkpoints" / "tiny.safetensors").write_bytes(b"x")

        async def scenario():
            async with aiohttp.ClientSession() as session:
                url = server.url

                async def get(path):
                    async with session.get(url + path) as response:
                        assert response.status == 200, path
                        return await response.json(content_type=None) if path != "/extensions/loom_test_pack/hello.js" \
                            else await response.text()

                info = await get("/object_info")
                assert info["LoomTestSlow"]["input"]["required"]["steps"][0] == "INT"
                assert info["LoomTestSave"]["output_node"] is True
                assert list(await get("/object_info/LoomTestFail")) == ["LoomTestFail"]
                assert await get("/object_info/Nope") == {}
                stats = await get("/system_stats")
                assert stats["system"]["ram_total"] > 0 and stats["devices"] == []
                assert "loom" in stats["system"]["comfyui_version"]
                assert await get("/embeddings") == ["style"]
                assert "checkpoints" in await get("/models")
                assert await get("/models/checkpoints") == ["tiny.safetensors"]
                assert await get("/extensions") == ["/extensions/loom_test_pack/hello.js"]
                assert "loom test pack" in await get("/extensions/loom_test_pack/hello.js")
                assert (await get("/features"))["max_upload_size"] > 0
                status = await get("/custom_nodes/status")
                assert any(pack["name"] == "loom_test_pack" for pack in status["packs"])
                async with session.get(f"{url}/extensions/loom_test_pack/..%2F__init__.py") as response:
                    assert response.status in (400, 404)
                async with session.get(url + "/") as response:
                    assert response.status == 200

        asyncio.run(scenario())
