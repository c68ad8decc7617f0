"""Timelines in this process's memory: the embedded default, where the API and the workers are
one process. Lost on restart, like Redis after a FLUSHALL: readers' timelines are rebuilt."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence

from control_plane.feed.stores.base import Entry, Slice, TimelineStore

__all__ = ["MemoryTimelines"]


class MemoryTimelines(TimelineStore):
    """Thread-safe; an expired timeline is dropped when touched."""

    def __init__(self, *, length: int, ttl: float) -> None:
        super().__init__(length=length, ttl=ttl)
        self._lock = threading.Lock()
        #: user -> ({subject: score}, monotonic expiry)
        self._timelines: dict[str, tuple[dict[int, int], float]] = {}

    def _live(self, user_id: str) -> dict[int, int] | None:
        found = self._timelines.get(user_id)
        if found is None:
            return None
        if found[1] <= time.monotonic():
            del self._timelines[user_id]
            return None
        return found[0]

    def _add(self, timeline: dict[int, int], entries: Iterable[Entry]) -> None:
        for subject, score in entries:
            if timeline.get(subject, -1) < score:
                timeline[subject] = score
        if len(timeline) > self.length:
            for subject, _ in sorted(timeline.items(), key=lambda e: e[1])[: len(timeline) - self.length]:
                del timeline[subject]

    def read(self, user_id: str, before: int | None, count: int) -> Slice | None:
        with self._lock:
            timeline = self._live(user_id)
            if timeline is None:
                return None
            self._timelines[user_id] = (timeline, time.monotonic() + self.ttl)
            below = [(s, v) for s, v in timeline.items() if before is None or v < before]
            below.sort(key=lambda e: e[1], reverse=True)
            return Slice(entries=below[:count], size=len(timeline))

    def fill(self, user_id: str, entries: Iterable[Entry]) -> None:
        timeline: dict[int, int] = {}
        self._add(timeline, entries)
        with self._lock:
            self._timelines[user_id] = (timeline, time.monotonic() + self.ttl)

    def merge(self, user_id: str, entries: Iterable[Entry]) -> bool:
        with self._lock:
            timeline = self._live(user_id)
            if timeline is None:
                return False
            self._add(timeline, entries)
            return True

    def push(self, user_ids: Sequence[str], entry: Entry) -> int:
        written = 0
        with self._lock:
            for user_id in user_ids:
                timeline = self._live(user_id)
                if timeline is not None:
                    self._add(timeline, [entry])
                    written += 1
        return written

    def scores(self, user_id: str, subjects: Sequence[int]) -> dict[int, int]:
        with self._lock:
            timeline = self._live(user_id) or {}
            return {s: timeline[s] for s in subjects if s in timeline}

    def remove(self, user_id: str, subjects: Iterable[int]) -> None:
        with self._lock:
            timeline = self._live(user_id)
            for subject in subjects if timeline is not None else ():
                timeline.pop(subject, None)  # type: ignore[union-attr]

    def drop(self, user_id: str) -> None:
        with self._lock:
            self._timelines.pop(user_id, None)

    def size(self, user_id: str) -> int:
        with self._lock:
            timeline = self._live(user_id)
            return 0 if timeline is None else len(timeline)
