"""Where home timelines are kept: Redis in production, this process's memory on the embedded
default. Both are caches of the database (``feed_items``); losing them loses nothing."""

from __future__ import annotations

import weakref

from control_plane.core.kv import KeyValue, RedisKeyValue
from control_plane.feed.stores.base import Entry, Merged, Slice, TimelineStore
from control_plane.feed.stores.memory import MemoryTimelines
from control_plane.feed.stores.redis import RedisTimelines

__all__ = [
    "AUTHORS",
    "HOME",
    "Entry",
    "Merged",
    "MemoryTimelines",
    "RedisTimelines",
    "Slice",
    "TimelineStore",
    "open_timelines",
]

#: In-memory stores per key-value store (and prefix), so the API and the in-process workers of
#: one process (which share their key-value store) share their timelines too.
_IN_PROCESS: weakref.WeakKeyDictionary[KeyValue, dict[str, MemoryTimelines]] = weakref.WeakKeyDictionary()

HOME = "feed:home:"
AUTHORS = "feed:author:"


def open_timelines(
    kv: KeyValue, *, shared_process: bool, length: int, ttl: float, prefix: str = HOME
) -> TimelineStore | None:
    """Redis timelines, on the connections of ``kv``, when it is Redis; in-memory ones when the
    workers run in this process (``shared_process``: the embedded default's in-process broker),
    shared by everyone using ``kv``; otherwise None: with workers in other processes and no
    Redis, the feed reads every page from the database."""
    if isinstance(kv, RedisKeyValue):
        return RedisTimelines(kv.client, length=length, ttl=ttl, prefix=prefix)
    if not shared_process:
        return None
    stores = _IN_PROCESS.setdefault(kv, {})
    store = stores.get(prefix)
    if store is None or store.length != length or store.ttl != ttl:
        store = stores[prefix] = MemoryTimelines(length=length, ttl=ttl)
    return store
