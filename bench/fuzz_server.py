"""Throw malformed requests at a running Loom server and count the 5xx answers (goal: 0).

    .venv/bin/python bench/fuzz_server.py                 # starts its own server, 10,000 requests
    .venv/bin/python bench/fuzz_server.py --count 500 --url http://127.0.0.1:8188

Every request is built from a seeded generator: broken and hostile JSON (NaN, 1e400,
integers of thousands of digits, deep nesting, lone surrogates, wrong types), odd
query strings, malformed multipart uploads, decompression-bomb images and hostile
path segments, sent to every route. The server must answer each with a 2xx-4xx and
still be alive at the end. tests/test_fuzz_server.py runs a short seeded round.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import struct
import sys
import zlib
from pathlib import Path

import aiohttp

ROUTES_JSON = ["/prompt", "/queue", "/interrupt", "/free", "/history", "/settings", "/settings/Loom.x",
               "/workflow/api", "/workflow/ui", "/userdata/workflows%2Ffuzz.json", "/queue/pause", "/queue/resume"]
ROUTES_GET = ["/prompt", "/queue", "/history", "/history/{id}", "/object_info", "/object_info/{id}", "/system_stats",
              "/embeddings", "/models", "/models/{id}", "/extensions", "/features", "/settings", "/settings/{id}",
              "/userdata", "/userdata/{id}", "/view", "/default_workflow", "/custom_nodes/status"]
QUERY_KEYS = ["max_items", "offset", "dir", "recurse", "full_info", "filename", "subfolder", "type", "preview",
              "channel", "format", "overwrite", "clientId"]


def weird_number(rng):
    return rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "9" * rng.randint(19, 6000),
                       str(2 ** 63), str(-(2 ** 63) - 1), "0.0", "-0", "1e-400", str(rng.randint(-5, 5))])


def weird_string(rng):
    return rng.choice(['"\\ud800"', '"\\udfff x"', '"' + "a" * rng.randint(200, 70000) + '"', '"../../etc/passwd"',
                       '"\\u0000"', '"' + "é" * 300 + '"', '""', '"%2e%2e%2f"', '"CON"', '"a/b/../../c"'])


def value(rng, depth=0):
    kind = rng.random()
    if depth > 4 or kind < 0.25:
        return weird_number(rng)
    if kind < 0.45:
        return weird_string(rng)
    if kind < 0.55:
        return rng.choice(["true", "false", "null", "{}", "[]"])
    if kind < 0.75:
        return "[" + ", ".join(value(rng, depth + 1) for _ in range(rng.randint(0, 4))) + "]"
    keys = ["prompt", "number", "priority", "front", "client_id", "extra_data", "prompt_id", "delete", "clear",
            "move", "requeue", "partial_execution_targets", "workflow", "nodes", "links", "class_type", "inputs",
            "unload_models", "free_memory", "to", "before", "after", "max_items"]
    items = [f'"{rng.choice(keys)}": {value(rng, depth + 1)}' for _ in range(rng.randint(0, 5))]
    return "{" + ", ".join(items) + "}"


def json_body(rng):
    choice = rng.random()
    if choice < 0.05:
        return "[" * rng.randint(1000, 100000) + "]" * rng.randint(0, 10)
    if choice < 0.1:
        return rng.choice(["", "{", "nul", "\xff\xfe", '{"prompt": {"1": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}}'])
    if choice < 0.3:
        class_type = rng.choice(['"KSampler"', '"SaveImage"', '"Nope"', "1", "null"])
        node = f'{{"class_type": {class_type}, "inputs": {value(rng, 2)}}}'
        return f'{{"prompt": {{"{rng.randint(1, 9)}": {node}}}, "number": {weird_number(rng)}, ' \
               f'"extra_data": {value(rng, 2)}, "prompt_id": {weird_string(rng)}}}'
    if choice < 0.4:
        return f'{{"prompt": {{"nodes": {value(rng, 2)}, "links": {value(rng, 2)}}}}}'
    return value(rng)


def png_bomb(width=60000, height=60000):
    """A tiny PNG whose header claims a huge image."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


def path_segment(rng):
    return rng.choice(["%2e%2e%2fsecret", "..%2f..%2f", "a" * 300, "%00", "x%2Fy", "%E9", "CON", "%ff%fe",
                       "workflows%2F" + "b" * 260 + ".json", "ok.json", "../x", "%2F%2Froot"])


async def one_request(session, url, rng):
    kind = rng.random()
    if kind < 0.45:
        route = rng.choice(ROUTES_JSON)
        return "POST", route, session.post(url + route, data=json_body(rng).encode("utf-8", "surrogatepass"),
                                           headers={"Content-Type": "application/json"})
    if kind < 0.75:
        route = rng.choice(ROUTES_GET).replace("{id}", path_segment(rng))
        query = "&".join(f"{rng.choice(QUERY_KEYS)}={rng.choice([weird_number(rng)[:40], path_segment(rng), 'true', ''])}"
                         for _ in range(rng.randint(0, 4)))
        return "GET", route, session.get(url + route + ("?" + query if query else ""))
    if kind < 0.8:
        route = "/userdata/" + path_segment(rng)
        return "DELETE", route, session.delete(url + route)
    route = rng.choice(["/upload/image", "/upload/mask"])
    form = aiohttp.FormData()
    if rng.random() < 0.85:
        content = rng.choice([png_bomb(), b"not an image", b"", b"\x89PNG\r\n\x1a\n" + bytes(50)])
        form.add_field("image", io.BytesIO(content), filename=path_segment(rng).replace("%2F", "/"),
                       content_type="image/png")
    for name in ("subfolder", "type", "overwrite", "original_ref"):
        if rng.random() < 0.5:
            form.add_field(name, rng.choice([path_segment(rng), "input", "output", "{bad json", json.dumps(
                {"filename": path_segment(rng), "subfolder": "..", "type": "output"})]))
    if rng.random() < 0.15:
        return "POST", route, session.post(url + route, data=b"--x\r\nbroken", headers={
            "Content-Type": "multipart/form-data; boundary=x"})
    return "POST", route, session.post(url + route, data=form)


async def fuzz(url: str, count: int, seed: int = 0, concurrency: int = 4, deadline: float | None = None):
    """Send `count` requests (or until `deadline`, a loop time); returns (sent, [5xx descriptions])."""
    rng = random.Random(seed)
    failures = []
    sent = 0
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async def worker():
            nonlocal sent
            while sent < count and (deadline is None or loop.time() < deadline):
                sent += 1
                method, route, call = await one_request(session, url, rng)
                try:
                    async with call as response:
                        body = await response.read()
                        if response.status >= 500:
                            failures.append(f"{method} {route} -> {response.status}: {body[:200]!r}")
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    failures.append(f"{method} {route} -> no answer: {error!r}")
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        async with session.get(url + "/system_stats") as response:
            if response.status != 200:
                failures.append(f"server not alive at the end: {response.status}")
    return sent, failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start one in a temp folder)")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if args.url:
        sent, failures = asyncio.run(fuzz(args.url.rstrip("/"), args.count, args.seed))
    else:
        import tempfile

        from tests.api_support import running_server

        with tempfile.TemporaryDirectory() as folder, running_server(Path(folder)) as handle:
            sent, failures = asyncio.run(fuzz(handle.url, args.count, args.seed))
    for failure in failures[:50]:
        print(failure)
    print(f"{sent} requests, {len(failures)} answered 5xx or not at all")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
