"""Hostile and malformed requests: never a 5xx, and the server stays alive.

A seeded round of bench/fuzz_server.py (bounded to ~30 s here; the script runs the
full 10,000 by hand), plus the specific cases found by fuzzing, each as its own test.
"""

import asyncio

import aiohttp
import pytest

from bench.fuzz_server import fuzz, png_bomb
from tests.api_support import running_server


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path) as handle:
        yield handle


def test_seeded_fuzz_round_gets_no_5xx(server):
    async def scenario():
        deadline = asyncio.get_running_loop().time() + 25
        return await fuzz(server.url, count=1500, seed=7, deadline=deadline)

    sent, failures = asyncio.run(scenario())
    assert sent > 200
    assert failures == []


async def _request(method, url, **options):
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, **options) as response:
            return response.status, await response.text()


@pytest.mark.parametrize("method, path, options, fragment", [
    ("GET", "/history?max_items=9223372036854775808", {}, "max_items"),
    ("POST", "/prompt", {"data": '{"prompt": {}, "prompt_id": "\\udfff"}'}, "surrogate"),
    ("POST", "/settings", {"data": "[" * 100000}, "nested too deeply"),
    ("POST", "/interrupt", {"data": '{"prompt_id": ' + "7" * 5000 + "}"}, "not valid JSON"),
    ("GET", "/userdata/" + "a" * 300, {}, "longer than 255 bytes"),
    ("POST", "/upload/image", {"data": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
     "malformed"),
])
def test_specific_bad_requests_are_4xx(server, method, path, options, fragment):
    status, text = asyncio.run(_request(method, server.url + path, **options))
    assert 400 <= status < 500 and fragment in text, (status, text)


def test_upload_name_clashing_with_a_folder_and_a_file_as_folder(server, tmp_path):
    (tmp_path / "input" / "taken.png").mkdir(parents=True)
    (tmp_path / "input" / "afile").write_text("x")

    def form(name, subfolder=""):
        data = aiohttp.FormData()
        data.add_field("image", b"\x89PNG\r\n\x1a\nfake", filename=name, content_type="image/png")
        data.add_field("subfolder", subfolder)
        return data

    status, text = asyncio.run(_request("POST", server.url + "/upload/image", data=form("taken.png")))
    assert status == 200 and '"taken (1).png"' in text, text
    status, text = asyncio.run(_request("POST", server.url + "/upload/image", data=form("x.png", "afile")))
    assert status == 400 and "names a file" in text


def test_decompression_bomb_mask_is_refused(server, tmp_path):
    (tmp_path / "input").mkdir(exist_ok=True)
    (tmp_path / "input" / "bomb.png").write_bytes(png_bomb())
    data = aiohttp.FormData()
    data.add_field("image", png_bomb(), filename="mask.png", content_type="image/png")
    data.add_field("original_ref", '{"filename": "bomb.png", "subfolder": "", "type": "input"}')
    status, text = asyncio.run(_request("POST", server.url + "/upload/mask", data=data))
    assert status == 400 and "too large" in text, text


def test_userdata_readers_never_see_a_partial_file(server):
    """One writer replaces a 2 MB file again and again; readers must get one whole version."""
    versions = [bytes([65 + i]) * (2 * 1024 * 1024) for i in range(4)]
    url = server.url + "/userdata/workflows%2Fbig.json"

    async def scenario():
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=versions[0]) as response:
                assert response.status == 200
            stop = asyncio.Event()
            bad = []

            async def writer():
                for i in range(24):
                    async with session.post(url, data=versions[i % 4]) as response:
                        assert response.status == 200
                stop.set()

            async def reader():
                while not stop.is_set():
                    async with session.get(url) as response:
                        body = await response.read()
                    if body not in versions:
                        bad.append(len(body))

            await asyncio.gather(writer(), reader(), reader())
            async with session.get(server.url + "/userdata?dir=workflows") as response:
                listing = await response.json()
            return bad, listing

    bad, listing = asyncio.run(scenario())
    assert bad == []
    assert listing == ["big.json"], "temporary files never show in listings"
    import os
    path = server.server.store.path.parent / "default" / "workflows" / "big.json"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask, "atomic writes keep the usual permissions"


def test_relative_base_directory_works_for_userdata_and_uploads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with running_server(tmp_path, base_directory="rel", user_directory=None, output_directory=None,
                        input_directory=None, temp_directory=None) as handle:
        status, text = asyncio.run(_request("POST", handle.url + "/userdata/workflows%2Fa.json?full_info=true",
                                            data=b"{}"))
        assert status == 200 and '"workflows/a.json"' in text, text
        data = aiohttp.FormData()
        data.add_field("image", b"img", filename="r.png", content_type="image/png")
        status, text = asyncio.run(_request("POST", handle.url + "/upload/image", data=data))
        assert status == 200, text
    assert (tmp_path / "rel" / "user" / "default" / "workflows" / "a.json").read_bytes() == b"{}"
    assert (tmp_path / "rel" / "input" / "r.png").read_bytes() == b"img"
