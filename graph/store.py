"""SQLite persistence for the prompt queue and the history.

One file (user_dir/loom.db) in WAL mode, one connection guarded by a lock, so
the aiohttp thread and the worker thread can both use it. Every change is
committed before the call returns: a process killed with SIGKILL loses nothing
that a call had already reported as done.

Rows hold JSON text; the queue and history modules give them meaning.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    prompt_id TEXT PRIMARY KEY,
    number    REAL NOT NULL,
    priority  INTEGER NOT NULL DEFAULT 0,
    state     TEXT NOT NULL DEFAULT 'pending',
    item      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt_id TEXT NOT NULL UNIQUE,
    entry     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class Store:
    """The queue and history tables of one SQLite file."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process kills in WAL mode
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, statements: list[tuple[str, tuple]]) -> None:
        """Run several statements as one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    self._db.execute(sql, params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- queue -------------------------------------------------------------------

    def queue_rows(self) -> list[dict]:
        rows = self._read("SELECT prompt_id, number, priority, state, item FROM queue")
        return [
            {"prompt_id": r[0], "number": r[1], "priority": r[2], "state": r[3], "item": json.loads(r[4])}
            for r in rows
        ]

    def queue_insert(self, prompt_id: str, number: float, priority: int, item: dict) -> None:
        self._write([(
            "INSERT INTO queue (prompt_id, number, priority, state, item) VALUES (?, ?, ?, 'pending', ?)",
            (prompt_id, number, priority, json.dumps(item)),
        )])

    def queue_update(self, prompt_id: str, number: float | None = None, priority: int | None = None,
                     state: str | None = None) -> None:
        sets, params = [], []
        for column, value in (("number", number), ("priority", priority), ("state", state)):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        if sets:
            self._write([(f"UPDATE queue SET {', '.join(sets)} WHERE prompt_id = ?", (*params, prompt_id))])

    def queue_delete(self, prompt_ids: list[str]) -> None:
        self._write([("DELETE FROM queue WHERE prompt_id = ?", (pid,)) for pid in prompt_ids])

    def max_number(self) -> float:
        rows = self._read(
            "SELECT MAX(m) FROM (SELECT MAX(ABS(number)) AS m FROM queue "
            "UNION ALL SELECT MAX(ABS(CAST(json_extract(entry, '$.prompt[0]') AS REAL))) FROM history)"
        )
        return float(rows[0][0] or 0)

    # -- history -----------------------------------------------------------------

    def finish(self, prompt_id: str, entry: dict) -> None:
        """Move a prompt from the queue into the history in one transaction."""
        self._write([
            ("DELETE FROM queue WHERE prompt_id = ?", (prompt_id,)),
            ("INSERT OR REPLACE INTO history (prompt_id, entry) VALUES (?, ?)", (prompt_id, json.dumps(entry))),
        ])

    def history_put(self, prompt_id: str, entry: dict) -> None:
        self._write([("INSERT OR REPLACE INTO history (prompt_id, entry) VALUES (?, ?)",
                      (prompt_id, json.dumps(entry)))])

    def history_get(self, prompt_id: str) -> dict | None:
        rows = self._read("SELECT entry FROM history WHERE prompt_id = ?", (prompt_id,))
        return json.loads(rows[0][0]) if rows else None

    def history_count(self) -> int:
        return self._read("SELECT COUNT(*) FROM history")[0][0]

    def history_page(self, limit: int, offset: int) -> list[tuple[str, dict]]:
        """Entries oldest first, `limit` of them starting at `offset`."""
        rows = self._read(
            "SELECT prompt_id, entry FROM history ORDER BY seq LIMIT ? OFFSET ?", (limit, offset)
        )
        return [(r[0], json.loads(r[1])) for r in rows]

    def history_delete(self, prompt_ids: list[str]) -> None:
        self._write([("DELETE FROM history WHERE prompt_id = ?", (pid,)) for pid in prompt_ids])

    def history_clear(self) -> None:
        self._write([("DELETE FROM history", ())])

    def history_trim(self, keep: int) -> None:
        """Drop the oldest entries beyond `keep`."""
        self._write([(
            "DELETE FROM history WHERE seq NOT IN (SELECT seq FROM history ORDER BY seq DESC LIMIT ?)",
            (keep,),
        )])

    # -- settings ----------------------------------------------------------------

    def setting_get(self, key: str, default=None):
        rows = self._read("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def setting_put(self, key: str, value) -> None:
        self._write([("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value)))])
