"""Server start-up time and request throughput, against a bare aiohttp app measured in the same run.

    .venv/bin/python bench/bench_server.py [--requests 300] [--concurrency 8]

Prints: seconds from process start until GET /system_stats answers (goal < 2 s),
then requests/second for POST /prompt (trivial graph, queue paused so only the
route is measured), GET /history?max_items=10 and GET /history/{id}, each with
its ratio to a hello-world aiohttp route started the same way. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent

BENCH_PACK = textwrap.dedent('''
    class BenchEcho:
        CATEGORY = "bench"
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"text": ("STRING", {"default": ""})}}

        def run(self, text):
            return {"ui": {"text": [text]}}


    NODE_CLASS_MAPPINGS = {"BenchEcho": BenchEcho}
''')

HELLO_APP = textwrap.dedent('''
    import sys
    from aiohttp import web

    async def hello(request):
        if request.method == "POST":
            await request.json()
        return web.json_response({"hello": "world"})

    app = web.Application()
    app.router.add_get("/system_stats", hello)
    app.router.add_get("/hello", hello)
    app.router.add_post("/hello", hello)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
''')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_until_up(url: str, started: float, process: subprocess.Popen, timeout: float = 60) -> float:
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise SystemExit(f"the process exited with {process.returncode}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.01)
    raise SystemExit(f"{url} did not answer in {timeout} s")


def launch(command: list[str], url: str) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    seconds = asyncio.run(wait_until_up(url, started, process))
    return process, seconds


async def throughput(method: str, url: str, count: int, concurrency: int, body_for=None) -> float:
    """Requests per second for `count` requests, `concurrency` at a time (after a short warm-up)."""
    async with aiohttp.ClientSession() as session:
        for index in range(10):
            async with session.request(method, url, **({"json": body_for(-1 - index)} if body_for else {})) as r:
                await r.read()
        next_index = iter(range(count))

        async def client():
            for index in next_index:
                kwargs = {"json": body_for(index)} if body_for else {}
                async with session.request(method, url, **kwargs) as response:
                    await response.read()
                    if response.status != 200:
                        raise SystemExit(f"{method} {url} answered {response.status}: {await response.text()}")

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    options = parser.parse_args()
    count, concurrency = max(1, min(options.requests, 5000)), max(1, min(options.concurrency, 64))

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        (scratch / "custom_nodes").mkdir()
        (scratch / "custom_nodes" / "bench_pack.py").write_text(BENCH_PACK)

        hello_port = free_port()
        hello, hello_start = launch([sys.executable, "-c", HELLO_APP, str(hello_port)],
                                    f"http://127.0.0.1:{hello_port}/system_stats")
        try:
            hello_url = f"http://127.0.0.1:{hello_port}/hello"
            hello_get = asyncio.run(throughput("GET", hello_url, count, concurrency))
            hello_post = asyncio.run(throughput("POST", hello_url, count, concurrency, lambda i: {"n": i}))
        finally:
            hello.terminate()
            hello.wait(10)

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        loom, loom_start = launch([
            sys.executable, "server.py", "--port", str(port),
            "--user-directory", str(scratch / "user"), "--output-directory", str(scratch / "output"),
            "--input-directory", str(scratch / "input"), "--temp-directory", str(scratch / "temp"),
            "--custom-nodes-directory", str(scratch / "custom_nodes"),
        ], f"{url}/system_stats")
        try:
            async def prepare_history():
                async with aiohttp.ClientSession() as session:
                    await session.post(f"{url}/queue/resume")
                    prompt_id = None
                    for index in range(20):
                        async with session.post(f"{url}/prompt", json={
                                "prompt": {"1": {"class_type": "BenchEcho", "inputs": {"text": str(index)}}}}) as r:
                            prompt_id = (await r.json())["prompt_id"]
                    while True:
                        async with session.get(f"{url}/history/{prompt_id}") as response:
                            if await response.json():
                                break
                        await asyncio.sleep(0.05)
                    await session.post(f"{url}/queue/pause")
                    return prompt_id

            last_id = asyncio.run(prepare_history())
            post_rate = asyncio.run(throughput(
                "POST", f"{url}/prompt", count, concurrency,
                lambda i: {"prompt": {"1": {"class_type": "BenchEcho", "inputs": {"text": f"bench {i}"}}}}))
            history_rate = asyncio.run(throughput("GET", f"{url}/history?max_items=10", count, concurrency))
            item_rate = asyncio.run(throughput("GET", f"{url}/history/{last_id}", count, concurrency))
        finally:
            loom.terminate()
            loom.wait(20)

    print(f"start-up until GET /system_stats answers: loom {loom_start:.2f} s (goal < 2 s), "
          f"bare aiohttp {hello_start:.2f} s, ratio {loom_start / hello_start:.2f}x")
    print(f"reference: bare aiohttp GET {hello_get:.0f} req/s, POST json {hello_post:.0f} req/s "
          f"({count} requests, {concurrency} at a time)")
    for name, rate, reference in (("POST /prompt", post_rate, hello_post),
                                  ("GET /history?max_items=10", history_rate, hello_get),
                                  ("GET /history/{id}", item_rate, hello_get)):
        print(f"{name:28s} {rate:8.0f} req/s   {rate / reference:.2f}x of bare aiohttp")


if __name__ == "__main__":
    main()
