"""A bounded in-process cache of serialized task JSON, so a fetch is usually a dict lookup."""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple


class CachedWire(NamedTuple):
    """A tuple of plain values on purpose: the garbage collector stops tracking such tuples, so
    a full cache adds nothing to the collector's work (a dataclass would add every entry)."""

    tenant_id: int
    status: str
    wire: bytes


class WireCache:
    """LRU by task id. Only the process that writes a task may cache it while it can change
    (``cache_unfinished``); finished tasks never change, so every instance may cache them."""

    def __init__(self, capacity: int, *, cache_unfinished: bool) -> None:
        self._capacity = capacity
        self._cache_unfinished = cache_unfinished
        self._entries: OrderedDict[str, CachedWire] = OrderedDict()

    def get(self, task_id: str) -> CachedWire | None:
        entry = self._entries.get(task_id)
        if entry is not None:
            self._entries.move_to_end(task_id)
        return entry

    def put(self, task_id: str, entry: CachedWire, *, final: bool) -> None:
        if self._capacity <= 0:
            return
        if not final and not self._cache_unfinished:
            self._entries.pop(task_id, None)
            return
        self._entries[task_id] = entry
        self._entries.move_to_end(task_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def drop(self, task_id: str) -> None:
        self._entries.pop(task_id, None)

    def __len__(self) -> int:
        return len(self._entries)
