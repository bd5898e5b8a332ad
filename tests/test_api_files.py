"""Uploads, /view and /userdata: confined to their folders, deduplicated, safely served."""

import asyncio
import io
import json
import os

import aiohttp
import pytest
from PIL import Image
from yarl import URL

from tests.api_support import running_server


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path, max_upload_size=0.05) as handle:  # 50 KiB
        yield handle


def png(color, size=(8, 8), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def form(content: bytes, filename: str, **fields) -> aiohttp.FormData:
    data = aiohttp.FormData(quote_fields=False)
    data.add_field("image", content, filename=filename, content_type="image/png")
    for key, value in fields.items():
        data.add_field(key, value)
    return data


def run(coro_fn, server):
    async def main():
        async with aiohttp.ClientSession() as session:
            await coro_fn(session, server.url)

    asyncio.run(main())


def test_upload_dedup_rename_overwrite_and_view(server, tmp_path):
    red, blue = png((255, 0, 0)), png((0, 0, 255))

    async def scenario(session, url):
        async def upload(content, name, **fields):
            async with session.post(f"{url}/upload/image", data=form(content, name, **fields)) as response:
                return response.status, await response.json()

        assert await upload(red, "cat.png") == (200, {"name": "cat.png", "subfolder": "", "type": "input"})
        assert (await upload(red, "cat.png"))[1]["name"] == "cat.png"  # same bytes: same file
        assert (await upload(blue, "cat.png"))[1]["name"] == "cat (1).png"
        assert (await upload(blue, "cat.png"))[1]["name"] == "cat (1).png"
        assert (await upload(png((0, 255, 0)), "cat.png"))[1]["name"] == "cat (2).png"
        assert (await upload(blue, "cat.png", overwrite="true"))[1]["name"] == "cat.png"
        assert (tmp_path / "input" / "cat.png").read_bytes() == blue

        # names are reduced to a safe basename
        status, body = await upload(red, "..\\../evil.png", subfolder="pets", type="temp")
        assert status == 200 and body == {"name": "evil.png", "subfolder": "pets", "type": "temp"}
        assert (tmp_path / "temp" / "pets" / "evil.png").read_bytes() == red

        async with session.get(f"{url}/view", params={"filename": "cat.png", "type": "input"}) as response:
            assert response.status == 200 and await response.read() == blue
            assert response.headers["Content-Type"] == "image/png"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert not response.headers["Content-Disposition"].startswith("attachment")
        async with session.get(f"{url}/api/view", params={"filename": "evil.png", "subfolder": "pets",
                                                          "type": "temp", "preview": "webp;50"}) as response:
            assert response.status == 200 and response.headers["Content-Type"] == "image/webp"
            assert Image.open(io.BytesIO(await response.read())).format == "WEBP"
        async with session.get(f"{url}/view", params={"filename": "cat.png [input]", "channel": "rgb"}) as response:
            assert Image.open(io.BytesIO(await response.read())).mode == "RGB"
        async with session.get(f"{url}/view", params={"filename": "missing.png"}) as response:
            assert response.status == 404

    run(scenario, server)


def test_sanitize_filename():
    from api.paths import PathRefused, sanitize_filename

    assert sanitize_filename("a/b\\c\x07d.png") == "cd.png"
    assert sanitize_filename("  ../../x.png ") == "x.png"
    for bad in ("", "..", "a/..", "\x00"):
        with pytest.raises(PathRefused):
            sanitize_filename(bad)


def test_upload_mask_applies_alpha_to_original(server, tmp_path):
    (tmp_path / "input").mkdir(exist_ok=True)
    (tmp_path / "input" / "photo.png").write_bytes(png((10, 20, 30), (4, 4)))
    mask = Image.new("RGBA", (4, 4), (0, 0, 0, 255))
    mask.putpixel((0, 0), (0, 0, 0, 0))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")

    async def scenario(session, url):
        ref = json.dumps({"filename": "photo.png", "subfolder": "", "type": "input"})
        async with session.post(f"{url}/upload/mask", data=form(buffer.getvalue(), "photo-mask.png",
                                                                 original_ref=ref)) as response:
            assert response.status == 200
            body = await response.json()
        result = Image.open(tmp_path / "input" / body["name"])
        assert result.mode == "RGBA"
        assert result.getpixel((0, 0)) == (10, 20, 30, 0) and result.getpixel((1, 1)) == (10, 20, 30, 255)

        bad_ref = json.dumps({"filename": "../photo.png", "type": "input"})
        async with session.post(f"{url}/upload/mask", data=form(buffer.getvalue(), "m.png",
                                                                 original_ref=bad_ref)) as response:
            assert response.status == 400

    run(scenario, server)


@pytest.mark.parametrize("params", [
    {"filename": "../secret.txt"},
    {"filename": "..%2Fsecret.txt"},
    {"filename": "secret.txt", "subfolder": ".."},
    {"filename": "secret.txt", "subfolder": "a/../.."},
    {"filename": "/etc/passwd"},
    {"filename": "..\\secret.txt"},
    {"filename": "secret.txt\x00.png"},
    {"filename": "escape/secret.txt"},
    {"filename": "x.png", "type": "models"},
])
def test_view_refuses_paths_outside_and_unknown_types(server, tmp_path, params):
    (tmp_path / "secret.txt").write_text("top secret")
    (tmp_path / "output").mkdir(exist_ok=True)
    (tmp_path / "output" / "x.png").write_bytes(png((1, 2, 3)))
    if not (tmp_path / "output" / "escape").exists():
        os.symlink(tmp_path, tmp_path / "output" / "escape")

    async def scenario(session, url):
        query = "&".join(f"{k}={v.replace('%', '%25') if k != 'filename' or '%2F' not in v else v}"
                         for k, v in params.items())
        raw = URL(f"{url}/view?" + query.replace("\x00", "%00").replace("\\", "%5C").replace("/", "%2F"),
                  encoded=True)
        async with session.get(raw) as response:
            assert response.status in (400, 403)
            assert "top secret" not in await response.text()
            assert response.headers["Content-Type"].startswith("application/json")

    run(scenario, server)


def test_upload_refusals(server, tmp_path):
    async def scenario(session, url):
        async with session.post(f"{url}/upload/image", data=form(png((1, 1, 1)), "a.png", subfolder="../x")) as r:
            assert r.status == 400
        async with session.post(f"{url}/upload/image", data=form(png((1, 1, 1)), "a.png", type="models")) as r:
            assert r.status == 400 and "type" in (await r.json())["error"]["message"]
        big = os.urandom(80 * 1024)
        async with session.post(f"{url}/upload/image", data=form(big, "big.png")) as r:
            assert r.status == 413
        async with session.post(f"{url}/upload/image", json={"image": "nope"}) as r:
            assert r.status == 400
        # a symlinked subfolder pointing outside is refused
        os.symlink(tmp_path, tmp_path / "input" / "link")
        async with session.post(f"{url}/upload/image", data=form(png((1, 1, 1)), "a.png", subfolder="link")) as r:
            assert r.status == 400
    (tmp_path / "input").mkdir(exist_ok=True)
    run(scenario, server)
    assert not (tmp_path / "x").exists() and not (tmp_path / "a.png").exists()
    assert not (tmp_path / "input" / "big.png").exists()


@pytest.mark.parametrize("name,disposition", [
    ("page.html", "attachment"), ("drawing.svg", "attachment"), ("code.js", "attachment"),
    ("data.xml", "attachment"), ("notes.txt", "inline"), ("meta.json", "inline"),
])
def test_view_serves_active_content_as_attachment(server, tmp_path, name, disposition):
    (tmp_path / "output").mkdir(exist_ok=True)
    (tmp_path / "output" / name).write_text("<script>alert(1)</script>")

    async def scenario(session, url):
        async with session.get(f"{url}/view", params={"filename": name}) as response:
            assert response.status == 200
            assert response.headers["Content-Disposition"].startswith(disposition)
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            if disposition == "attachment":
                assert "html" not in response.headers["Content-Type"]

    run(scenario, server)


def test_userdata_and_settings(server, tmp_path):
    async def scenario(session, url):
        target = URL(f"{url}/userdata/workflows%2Fmy%20flow.json?overwrite=false", encoded=True)
        async with session.post(target, data=b'{"a": 1}') as response:
            assert response.status == 200 and await response.json() == "workflows/my flow.json"
        async with session.post(target, data=b'{"a": 2}') as response:
            assert response.status == 409
        async with session.get(URL(f"{url}/userdata/workflows%2Fmy%20flow.json", encoded=True)) as response:
            assert await response.read() == b'{"a": 1}'
        async with session.get(f"{url}/userdata", params={"dir": "workflows", "recurse": "true"}) as response:
            assert await response.json() == ["my flow.json"]
        async with session.get(f"{url}/userdata", params={"dir": "workflows", "full_info": "true"}) as response:
            (info,) = await response.json()
            assert info["path"] == "my flow.json" and info["size"] == 8
        for bad in ("..%2F..%2Fescape.json", "%2Fetc%2Fpasswd", "a%5C..%5Cb", "%2E%2E%2Fescape.json"):
            async with session.post(URL(f"{url}/userdata/{bad}", encoded=True), data=b"x") as response:
                assert response.status in (400, 404), bad
        async with session.get(f"{url}/userdata", params={"dir": "../.."}) as response:
            assert response.status == 400
        async with session.delete(URL(f"{url}/userdata/workflows%2Fmy%20flow.json", encoded=True)) as response:
            assert response.status == 204
        assert not (tmp_path / "user" / "default" / "workflows" / "my flow.json").exists()

        async with session.post(f"{url}/settings/Comfy.Theme", json="dark") as response:
            assert response.status == 200
        async with session.post(f"{url}/settings", json={"Loom.Grid": 8}) as response:
            assert response.status == 200
        async with session.get(f"{url}/settings") as response:
            assert await response.json() == {"Comfy.Theme": "dark", "Loom.Grid": 8}
        async with session.get(f"{url}/api/settings/Comfy.Theme") as response:
            assert await response.json() == "dark"

    run(scenario, server)
    assert not (tmp_path / "escape.json").exists() and not (tmp_path / "user" / "escape.json").exists()
    settings = json.loads((tmp_path / "user" / "default" / "comfy.settings.json").read_text())
    assert settings["Comfy.Theme"] == "dark"
