"""Origin checks, CORS, the auth token, and clean JSON errors."""

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from api.security import StartupError, is_loopback_host
from tests.api_support import free_port, make_args, running_server

REPO_ROOT = Path(__file__).resolve().parent.parent


async def status_of(session, method, url, **kwargs):
    async with session.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None) if response.status != 204 else None
        return response.status, body, response.headers


def test_loopback_names():
    assert all(map(is_loopback_host, ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "app.localhost"]))
    assert not any(map(is_loopback_host, ["0.0.0.0", "192.168.1.2", "evil.example", "", None]))


def test_cross_origin_requests_are_refused_by_default(tmp_path):
    with running_server(tmp_path) as server:
        port = server.url.rsplit(":", 1)[1]

        async def scenario():
            async with aiohttp.ClientSession() as session:
                url = f"{server.url}/queue"
                assert (await status_of(session, "GET", url))[0] == 200
                assert (await status_of(session, "GET", url, headers={"Origin": server.url}))[0] == 200
                for origin in ("http://evil.example", f"http://evil.example:{port}", "http://localhost:1",
                               "null", "http://192.168.1.5"):
                    status, body, _ = await status_of(session, "POST", url, json={"clear": True},
                                                      headers={"Origin": origin})
                    assert status == 403, origin
                    assert "refused" in body["error"]["message"]
                # DNS rebinding: a foreign Host name on a loopback server
                status, _, _ = await status_of(session, "GET", url, headers={"Host": f"evil.example:{port}"})
                assert status == 403
                # the websocket is guarded too
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(server.ws_url, headers={"Origin": "http://evil.example"})
                assert refused.value.status == 403

        asyncio.run(scenario())


def test_cors_header_allows_the_named_origin(tmp_path):
    with running_server(tmp_path, enable_cors_header="http://app.example") as server:
        async def scenario():
            async with aiohttp.ClientSession() as session:
                status, _, headers = await status_of(session, "GET", f"{server.url}/queue",
                                                     headers={"Origin": "http://app.example"})
                assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://app.example"
                status, _, headers = await status_of(session, "OPTIONS", f"{server.url}/prompt", headers={
                    "Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
                assert status == 204 and "POST" in headers["Access-Control-Allow-Methods"]
                status, _, headers = await status_of(session, "GET", f"{server.url}/queue",
                                                     headers={"Origin": "http://other.example"})
                assert status == 403 and "Access-Control-Allow-Origin" not in headers

        asyncio.run(scenario())


def test_non_loopback_listen_needs_a_token(tmp_path):
    from api.app import create_app

    with pytest.raises(StartupError, match="--auth-token"):
        create_app(make_args(tmp_path, listen="0.0.0.0"))
    # --insecure is the explicit opt-out (the app is made, not bound)
    assert create_app(make_args(tmp_path, listen="0.0.0.0", insecure=True)) is not None

    port = free_port()
    finished = subprocess.run([sys.executable, "server.py", "--listen", "0.0.0.0", "--port", str(port),
                               "--user-directory", str(tmp_path / "user2")],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert finished.returncode != 0
    assert "--auth-token" in finished.stderr and "Traceback" not in finished.stderr


def test_token_is_required_for_http_and_websocket(tmp_path):
    # The server decides as a non-loopback server; the test still binds loopback only.
    with running_server(tmp_path, listen="0.0.0.0", auth_token="s3cret") as server:
        async def scenario():
            async with aiohttp.ClientSession() as session:
                url = f"{server.url}/queue"
                assert (await status_of(session, "GET", url))[0] == 401
                assert (await status_of(session, "GET", url, headers={"Authorization": "Bearer wrong"}))[0] == 401
                assert (await status_of(session, "GET", url, headers={"Authorization": "Bearer s3cret"}))[0] == 200
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(server.ws_url + "?clientId=x")
                assert refused.value.status == 401
                ws = await session.ws_connect(server.ws_url + "?clientId=x&token=s3cret")
                assert (await ws.receive_json())["type"] == "status"
                await ws.close()
            # ?token= sets a cookie, so a browser keeps working without the query
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
                assert (await status_of(browser, "GET", f"{url}?token=s3cret"))[0] == 200
                assert (await status_of(browser, "GET", url))[0] == 200

        asyncio.run(scenario())


def test_bad_input_is_400_and_bugs_are_json_500(tmp_path):
    with running_server(tmp_path) as server:
        async def scenario():
            async with aiohttp.ClientSession() as session:
                url = server.url
                checks = [
                    ("POST", "/queue", {"json": {"delete": "abc"}}, 400),
                    ("POST", "/queue", {"data": b"[1, 2]"}, 400),
                    ("POST", "/queue", {"json": {"move": {"prompt_id": "nope", "to": 0}}}, 400),
                    ("POST", "/queue", {"json": {"priority": {"nope": "high"}}}, 400),
                    ("POST", "/history", {"data": b""}, 400),
                    ("GET", "/history?max_items=many", {}, 400),
                    ("POST", "/prompt", {"json": {"prompt": {}, "priority": "high"}}, 400),
                    ("POST", "/prompt", {"json": {"prompt": {}, "extra_data": []}}, 400),
                    ("GET", "/models/not_a_folder", {}, 404),
                ]
                for method, path, kwargs, expected in checks:
                    status, body, _ = await status_of(session, method, url + path, **kwargs)
                    assert status == expected, (path, kwargs, body)
                    assert body["error"]["message"]
                status, body, _ = await status_of(session, "GET", f"{url}/loom_test/bug")
                assert status == 500 and "secret" not in str(body) and body["error"]["message"]
                status, body, _ = await status_of(session, "GET", f"{url}/api/loom_test/hello")
                assert (status, body) == (200, {"hello": "from a pack"})

        asyncio.run(scenario())
