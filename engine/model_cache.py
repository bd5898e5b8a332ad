"""Loaded models shared between nodes and prompts, least recently used dropped first.

Entries are keyed by (resolved path, modification time, kind, options), so an
edited file is loaded again. When the weights held pass the byte budget, the
least recently used entries are dropped (the newest entry always stays). The
cached objects are never changed by nodes: they clone before patching.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable


def file_stamp(path) -> int:
    """Modification time (ns) of a file, or the newest file inside a diffusers folder."""
    path = Path(path)
    if path.is_dir():
        stamps = [p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()]
        return max(stamps, default=path.stat().st_mtime_ns)
    return path.stat().st_mtime_ns


def cache_key(path, kind: str, *options) -> tuple:
    path = Path(path).resolve()
    return (str(path), file_stamp(path), kind, options)


def weights_bytes(obj) -> int:
    """Bytes of the parameters and buffers held by a loaded model object (or tuple of them)."""
    seen: set[int] = set()
    return _weights_bytes(obj, seen)


def _weights_bytes(obj, seen: set[int]) -> int:
    if obj is None or id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, (tuple, list)):
        return sum(_weights_bytes(item, seen) for item in obj)
    if hasattr(obj, "parameters") and hasattr(obj, "buffers"):
        tensors = list(obj.parameters()) + list(obj.buffers())
        return sum(t.numel() * t.element_size() for t in tensors)
    nbytes = getattr(obj, "nbytes", None)  # MODEL, CLIP and VAE say their own size
    return nbytes if isinstance(nbytes, int) else 0


class ModelCache:
    def __init__(self, budget_bytes: int | None = None):
        self.budget_bytes = budget_bytes if budget_bytes is not None else _default_budget()
        self._entries: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._lock = threading.RLock()

    def get_or_load(self, key: tuple, loader: Callable[[], object]):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
        value = loader()
        with self._lock:
            self._entries[key] = (value, weights_bytes(value))
            self._entries.move_to_end(key)
            self._evict()
        return value

    def _evict(self) -> None:
        while len(self._entries) > 1 and self.total_bytes() > self.budget_bytes:
            self._entries.popitem(last=False)

    def total_bytes(self) -> int:
        return sum(size for _value, size in self._entries.values())

    def __contains__(self, key) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _default_budget() -> int:
    """Half of the machine's RAM: models are kept on the CPU between uses."""
    import psutil

    return int(psutil.virtual_memory().total // 2)


_cache: ModelCache | None = None


def configure(budget_bytes: int | None = None) -> ModelCache:
    global _cache
    _cache = ModelCache(budget_bytes)
    return _cache


def get() -> ModelCache:
    global _cache
    if _cache is None:
        _cache = ModelCache()
    return _cache
