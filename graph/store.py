"""SQLite persistence for the prompt queue and the history.

One file (user_dir/loom.db) in WAL mode, one connection guarded by a lock, so
the aiohttp thread and the worker thread can both use it. Every change is
committed before the call returns: a process killed with SIGKILL loses nothing
that a call had already reported as done.

Rows hold JSON text; the queue and history modules give them meaning. The store does
not trust its own file: at start, rows that cannot be read back (malformed or
non-finite JSON, numbers out of range: written by an older version, or edited by hand)
are moved to the `rejected` table and logged, and the server starts with the rest.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from pathlib import Path

from graph.json_policy import dumps_strict, loads_strict

log = logging.getLogger("loom.store")

MAX_NUMBER = 2 ** 53      # queue numbers stay exact in JavaScript
MAX_PRIORITY = 2 ** 31
QUEUE_STATES = ("pending", "running")

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
CREATE TABLE IF NOT EXISTS rejected (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    source  TEXT NOT NULL,
    key     TEXT,
    content TEXT,
    reason  TEXT NOT NULL,
    at      REAL NOT NULL
);
"""


def _read_queue_row(row) -> tuple[dict | None, str | None]:
    """(the row's item, None), or (None, why the row cannot be used)."""
    prompt_id, number, priority, state, item = row
    if not isinstance(prompt_id, str) or not prompt_id:
        return None, "no prompt id"
    if not isinstance(number, (int, float)) or not math.isfinite(number) or abs(number) > MAX_NUMBER:
        return None, f"number {number!r} is not a finite number within +-2**53"
    if not isinstance(priority, int) or abs(priority) > MAX_PRIORITY:
        return None, f"priority {priority!r} is not an integer within +-2**31"
    if state not in QUEUE_STATES:
        return None, f"state {state!r} is unknown"
    try:
        data = loads_strict(item)
    except (TypeError, ValueError) as error:
        return None, f"item is not valid JSON: {error}"
    if not isinstance(data, dict) or not isinstance(data.get("prompt"), dict):
        return None, "item has no prompt object"
    return data, None


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
        self.rejected_at_start = self._quarantine_bad_rows()

    def _quarantine_bad_rows(self) -> int:
        """Move unreadable queue and history rows to `rejected`; returns how many."""
        moves = []
        for row in self._read("SELECT prompt_id, number, priority, state, item FROM queue"):
            _, problem = _read_queue_row(row)
            if problem:
                moves.append(("queue", ("DELETE FROM queue WHERE prompt_id IS ?", (row[0],)), row[0], row[4], problem))
        # SQLite's json_valid refuses NaN/Infinity; a number past float range reads as inf
        candidates = self._read(
            "SELECT seq, prompt_id, entry FROM history WHERE CASE WHEN json_valid(entry) "
            "THEN abs(CAST(json_extract(entry, '$.prompt[0]') AS REAL)) > ? ELSE 1 END", (MAX_NUMBER,))
        for seq, prompt_id, entry in candidates:
            try:
                loads_strict(entry)
                problem = "prompt number out of range"
            except (TypeError, ValueError) as error:
                problem = f"entry is not valid JSON: {error}"
            moves.append(("history", ("DELETE FROM history WHERE seq = ?", (seq,)), prompt_id, entry, problem))
        statements = []
        for source, delete, key, content, problem in moves:
            log.error("store: %s row %r is unreadable (%s); moved to the rejected table", source, key, problem)
            statements.append(("INSERT INTO rejected (source, key, content, reason, at) VALUES (?, ?, ?, ?, ?)",
                               (source, key, content if isinstance(content, str) else repr(content), problem,
                                time.time())))
            statements.append(delete)
        if statements:
            self._write(statements)
        return len(moves)
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

    def _read(self, sql: str, params=()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- queue -------------------------------------------------------------------

    def queue_rows(self) -> list[dict]:
        result = []
        for row in self._read("SELECT prompt_id, number, priority, state, item FROM queue"):
            item, problem = _read_queue_row(row)
            if problem is None:
                result.append({"prompt_id": row[0], "number": row[1], "priority": row[2], "state": row[3],
                               "item": item})
        return result

    def queue_insert(self, prompt_id: str, number: float, priority: int, item: dict) -> None:
        self._write([(
            "INSERT INTO queue (prompt_id, number, priority, state, item) VALUES (?, ?, ?, 'pending', ?)",
            (prompt_id, number, priority, dumps_strict(item)),
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

    def max_number(self) -> int:
        rows = self._read(
            "SELECT MAX(m) FROM (SELECT MAX(ABS(number)) AS m FROM queue WHERE ABS(number) <= :cap "
            "UNION ALL SELECT MAX(ABS(CAST(json_extract(entry, '$.prompt[0]') AS REAL))) FROM history "
            "WHERE json_valid(entry) AND ABS(CAST(json_extract(entry, '$.prompt[0]') AS REAL)) <= :cap)",
            {"cap": MAX_NUMBER})
        return int(rows[0][0] or 0)

    # -- history -----------------------------------------------------------------

    def finish(self, prompt_id: str, entry: dict) -> None:
        """Move a prompt from the queue into the history in one transaction."""
        self._write([
            ("DELETE FROM queue WHERE prompt_id = ?", (prompt_id,)),
            ("INSERT OR REPLACE INTO history (prompt_id, entry) VALUES (?, ?)", (prompt_id, dumps_strict(entry))),
        ])

    def history_put(self, prompt_id: str, entry: dict) -> None:
        self._write([("INSERT OR REPLACE INTO history (prompt_id, entry) VALUES (?, ?)",
                      (prompt_id, dumps_strict(entry)))])

    def history_get(self, prompt_id: str) -> dict | None:
        rows = self._read("SELECT entry FROM history WHERE prompt_id = ?", (prompt_id,))
        return _entry_or_none(prompt_id, rows[0][0]) if rows else None

    def history_count(self) -> int:
        return self._read("SELECT COUNT(*) FROM history")[0][0]

    def history_page(self, limit: int, offset: int) -> list[tuple[str, dict]]:
        """Entries oldest first, `limit` of them starting at `offset`."""
        rows = self._read(
            "SELECT prompt_id, entry FROM history ORDER BY seq LIMIT ? OFFSET ?", (limit, offset)
        )
        entries = [(r[0], _entry_or_none(r[0], r[1])) for r in rows]
        return [(prompt_id, entry) for prompt_id, entry in entries if entry is not None]

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
        if not rows:
            return default
        try:
            return loads_strict(rows[0][0])
        except (TypeError, ValueError):
            log.error("store: setting %r is unreadable; its default is used", key)
            return default

    def setting_put(self, key: str, value) -> None:
        self._write([("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, dumps_strict(value)))])

    def rejected_rows(self) -> list[dict]:
        rows = self._read("SELECT source, key, content, reason FROM rejected ORDER BY id")
        return [{"source": r[0], "key": r[1], "content": r[2], "reason": r[3]} for r in rows]


def _entry_or_none(prompt_id, text):
    try:
        return loads_strict(text)
    except (TypeError, ValueError) as error:
        log.error("store: history entry %r is unreadable (%s); skipped", prompt_id, error)
        return None
