"""Output caches kept between prompts, keyed by node signature.

Policies (CacheConfig.policy):
  "none"  nothing is kept between prompts;
  "last"  only the outputs of the previous prompt's nodes are kept (ComfyUI's classic);
  "lru"   least-recently-used entries are dropped beyond max_entries or max_ram_bytes.
The executor keeps this prompt's outputs in its own store, so evicting an entry
never breaks a running prompt; it only means the node runs again next time.
"""
from collections import OrderedDict
from dataclasses import dataclass

POLICIES = ("none", "last", "lru")


@dataclass
class CacheConfig:
    policy: str = "lru"
    max_entries: int = 256
    max_ram_bytes: int | None = 4 * 1024 ** 3

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ValueError(f"cache policy must be one of {POLICIES}, got {self.policy!r}")


@dataclass
class CacheEntry:
    outputs: list          # one list of values per output slot
    ui: dict | None        # what the node returned under "ui", if anything
    nbytes: int = 0


def estimate_nbytes(value, _seen=None, _depth=0):
    """Rough RAM size of a value: .nbytes (numpy, MODEL), element_size()*nelement()
    (tensors), the tensors of a module (.parameters()/.buffers()), summed through
    lists, tuples, dicts and plain objects' attributes. Duck-typed: no torch import."""
    if _seen is None:
        _seen = set()
    if id(value) in _seen or _depth > 8 or value is None:
        return 0
    _seen.add(id(value))
    if isinstance(value, (bool, int, float)):
        return 8
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if callable(getattr(value, "element_size", None)) and callable(getattr(value, "nelement", None)):
        try:
            return int(value.element_size()) * int(value.nelement())
        except Exception:
            return 0
    if callable(getattr(value, "parameters", None)) and callable(getattr(value, "buffers", None)):
        # a torch module: size it from its tensors, not by walking its internals
        try:
            tensors = list(value.parameters()) + list(value.buffers())
            return sum(int(t.element_size()) * int(t.nelement()) for t in tensors)
        except Exception:
            return 0
    if isinstance(value, dict):
        return sum(estimate_nbytes(v, _seen, _depth + 1) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sum(estimate_nbytes(v, _seen, _depth + 1) for v in value)
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        return sum(estimate_nbytes(v, _seen, _depth + 1) for v in attributes.values())
    return 0


class OutputCache:
    """Signature -> CacheEntry, with the retention rule of one policy."""

    def __init__(self, config=None):
        self.config = config or CacheConfig()
        self._entries = OrderedDict()

    def __len__(self):
        return len(self._entries)

    def __contains__(self, signature):
        return signature in self._entries

    @property
    def total_nbytes(self):
        return sum(entry.nbytes for entry in self._entries.values())

    def get(self, signature):
        entry = self._entries.get(signature)
        if entry is not None:
            self._entries.move_to_end(signature)
        return entry

    def put(self, signature, outputs, ui=None):
        nbytes = estimate_nbytes(outputs) if self.config.policy == "lru" else 0
        self._entries[signature] = CacheEntry(outputs, ui, nbytes)
        self._entries.move_to_end(signature)
        if self.config.policy == "lru":
            self._evict()

    def _evict(self):
        limit_entries = self.config.max_entries
        limit_bytes = self.config.max_ram_bytes
        total = self.total_nbytes
        while self._entries and (
                (limit_entries is not None and len(self._entries) > limit_entries)
                or (limit_bytes is not None and total > limit_bytes)):
            _, entry = self._entries.popitem(last=False)
            total -= entry.nbytes

    def end_prompt(self, signatures_in_prompt):
        """Apply the policy once a prompt is over."""
        if self.config.policy == "none":
            self._entries.clear()
        elif self.config.policy == "last":
            keep = set()
            for signature in signatures_in_prompt:
                keep.add(signature)
            for signature in [s for s in self._entries if s not in keep]:
                del self._entries[signature]

    def clear(self):
        self._entries.clear()
