"""The queue and history survive a SIGKILL of a real `python server.py` process."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.api_support import free_port, post_prompt, slow_prompt, wait_for, write_test_pack

REPO_ROOT = Path(__file__).resolve().parent.parent


def start_server(tmp_path: Path, port: int) -> subprocess.Popen:
    custom_dir = tmp_path / "custom_nodes"
    write_test_pack(custom_dir)
    command = [
        sys.executable, "server.py", "--port", str(port),
        "--user-directory", str(tmp_path / "user"),
        "--output-directory", str(tmp_path / "output"),
        "--input-directory", str(tmp_path / "input"),
        "--temp-directory", str(tmp_path / "temp"),
        "--custom-nodes-directory", str(custom_dir),
    ]
    log_path = tmp_path / f"server-{time.monotonic_ns()}.log"
    with open(log_path, "w") as log:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if "Loom listening on http://" in log_path.read_text():
            return process
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"server did not start: {log_path.read_text()}")


async def get_json(session, url):
    async with session.get(url) as response:
        assert response.status == 200
        return await response.json()


def test_sigkill_keeps_waiting_prompts_and_records_the_running_one(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_server(tmp_path, port)
    try:
        async def before_kill():
            async with aiohttp.ClientSession() as session:
                _, done = await post_prompt(session, url, slow_prompt(text="done", filename="done.png"), "c")
                await wait_for(lambda: _in_history(session, url, done["prompt_id"]))
                _, running = await post_prompt(session, url, slow_prompt(steps=2000, delay=0.01), "c")
                _, waiting_a = await post_prompt(session, url, slow_prompt(text="a", filename="a.png"), "c")
                _, waiting_b = await post_prompt(session, url, slow_prompt(text="b", filename="b.png"), "c")

                async def is_running():
                    queue = await get_json(session, f"{url}/queue")
                    return [item[1] for item in queue["queue_running"]] == [running["prompt_id"]]

                await wait_for(is_running)
                return done["prompt_id"], running["prompt_id"], [waiting_a["prompt_id"], waiting_b["prompt_id"]]

        done_id, running_id, waiting_ids = asyncio.run(before_kill())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    process = start_server(tmp_path, port)
    try:
        async def after_restart():
            async with aiohttp.ClientSession() as session:
                history = await get_json(session, f"{url}/history")
                assert history[done_id]["status"]["status_str"] == "success"
                interrupted = history[running_id]
                assert interrupted["status"]["status_str"] == "error"
                assert interrupted["status"]["messages"][-1][0] == "execution_interrupted"
                assert interrupted["prompt"][1] == running_id

                # the waiting prompts were still queued and now run, in order
                for prompt_id in waiting_ids:
                    await wait_for(lambda: _in_history(session, url, prompt_id), timeout=20)
                history = await get_json(session, f"{url}/history")
                assert [pid for pid in history if pid in waiting_ids] == waiting_ids
                assert all(history[pid]["status"]["status_str"] == "success" for pid in waiting_ids)
                assert (tmp_path / "output" / "a.png").is_file() and (tmp_path / "output" / "b.png").is_file()

                # the interrupted prompt can be queued again
                async with session.post(f"{url}/queue", json={"requeue": [running_id]}) as response:
                    new_id = (await response.json())["requeued"][running_id]

                async def requeued_runs():
                    queue = await get_json(session, f"{url}/queue")
                    return [item[1] for item in queue["queue_running"]] == [new_id]

                await wait_for(requeued_runs)
                await session.post(f"{url}/interrupt", json={})
                await wait_for(lambda: _in_history(session, url, new_id))

        asyncio.run(after_restart())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


async def _in_history(session, url, prompt_id):
    return bool(await get_json(session, f"{url}/history/{prompt_id}"))
