"""The store never trusts its own rows: bad rows planted in the SQLite file are moved
aside at start, and the server starts and serves the rest."""

import asyncio
import json
import sqlite3

import aiohttp

from graph.store import Store
from tests.api_support import running_server, slow_prompt

GOOD_ITEM = json.dumps({"prompt": slow_prompt(), "extra_data": {}, "outputs_to_execute": ["2"]})


def entry(number, prompt_id):
    return json.dumps({"prompt": [number, prompt_id, slow_prompt(), {}, ["2"]], "outputs": {},
                       "status": {"status_str": "success", "completed": True, "messages": []}, "meta": {}})


def plant(db_path):
    Store(db_path).close()  # create the schema
    db = sqlite3.connect(db_path)
    rows = [
        ("good-queued", 5, 0, "pending", GOOD_ITEM),
        ("nan-json", 6, 0, "pending", GOOD_ITEM.replace('"extra_data": {}', '"extra_data": {"x": NaN}')),
        ("truncated", 7, 0, "pending", GOOD_ITEM[:40]),
        ("huge-number", float("inf"), 0, "pending", GOOD_ITEM),
        ("huge-priority", 8, 2 ** 62, "pending", GOOD_ITEM),
        ("odd-state", 9, 0, "exploded", GOOD_ITEM),
    ]
    db.executemany("INSERT INTO queue (prompt_id, number, priority, state, item) VALUES (?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO history (prompt_id, entry) VALUES (?, ?)", [
        ("good-done", entry(3, "good-done")),
        ("nan-done", entry(4, "nan-done").replace('"completed": true', '"completed": NaN')),
        ("cut-done", entry(2, "cut-done")[:30]),
        ("huge-done", entry(1, "huge-done").replace('[1, "huge-done"', '[1e400, "huge-done"')),
    ])
    db.commit()
    db.close()


def test_bad_rows_are_quarantined_and_the_server_starts(tmp_path):
    db_path = tmp_path / "user" / "loom.db"
    db_path.parent.mkdir(parents=True)
    plant(db_path)

    async def scenario(url):
        async with aiohttp.ClientSession() as session:
            # The queue first: a prompt that leaves the queue before the history is read is in the history.
            async with session.get(f"{url}/queue") as response:
                queue = await response.json()
            async with session.get(f"{url}/history") as response:
                assert response.status == 200
                history = await response.json()
            async with session.post(f"{url}/prompt", json={"prompt": slow_prompt()}) as response:
                assert response.status == 200
                posted = await response.json()
        return history, queue, posted

    with running_server(tmp_path) as handle:
        history, queue, posted = asyncio.run(scenario(handle.url))
    assert "good-done" in history
    assert not {"nan-done", "cut-done", "huge-done"} & set(history)
    # the good queued prompt ran (or is running/queued): it was not lost
    ids = {item[1] for item in queue["queue_running"] + queue["queue_pending"]} | set(history)
    assert "good-queued" in ids
    assert not {"nan-json", "truncated", "huge-number", "huge-priority", "odd-state"} & ids
    assert isinstance(posted["number"], int) and posted["number"] < 2 ** 53

    rejected = Store(db_path).rejected_rows()
    assert sorted(r["key"] for r in rejected) == sorted(
        ["nan-json", "truncated", "huge-number", "huge-priority", "odd-state", "nan-done", "cut-done", "huge-done"])
    assert all(r["reason"] for r in rejected)
    assert any("NaN" in r["content"] for r in rejected), "the content is kept for a person to look at"
