"""Shared reads of live playlists from the blob store.

Every viewer holding a blocking reload polls the playlist until its part appears; reading the
store once per viewer per poll would cost a GET each (S3). ``PlaylistReader`` answers all the
waiters of one key from a single read made at most every ``fresh_s`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from storage import BlobNotFound, BlobStore

__all__ = ["PlaylistReader"]


class PlaylistReader:
    """Reads of text blobs, shared by concurrent callers for ``fresh_s`` seconds. Keeps at most
    ``max_keys`` entries (the oldest are dropped first). Use from one event loop."""

    def __init__(
        self,
        store: BlobStore,
        *,
        fresh_s: float = 0.05,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.fresh_s = fresh_s
        self.max_keys = max_keys
        self.clock = clock
        self.reads = 0  # store reads made, for tests and metrics
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def read(self, key: str) -> str | None:
        """The blob's text, at most ``fresh_s`` seconds old; None when it does not exist."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is not None and self.clock() - cached[0] < self.fresh_s:
                return cached[1]
            try:
                text: str | None = (await asyncio.to_thread(self.store.read, key)).decode()
            except BlobNotFound:
                text = None
            self.reads += 1
            self._cache.pop(key, None)
            self._cache[key] = (self.clock(), text)
            while len(self._cache) > self.max_keys:
                oldest = next(iter(self._cache))
                del self._cache[oldest]
                self._locks.pop(oldest, None)
            return text
