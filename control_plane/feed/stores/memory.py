"""Timelines in this process's memory: the embedded default, where the API and the workers are
one process. Lost on restart, like Redis after a FLUSHALL: readers' timelines are rebuilt."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from control_plane.feed.stores.base import Entry, Slice, TimelineStore

__all__ = ["MemoryTimelines"]


@dataclass
class _Timeline:
    scores: dict[int, int] = field(default_factory=dict)
    expires: float = 0.0
    older: bool = False


class MemoryTimelines(TimelineStore):
    """Thread-safe; an expired timeline is dropped when touched."""

    def __init__(self, *, length: int, ttl: float) -> None:
        super().__init__(length=length, ttl=ttl)
        self._lock = threading.Lock()
        self._timelines: dict[str, _Timeline] = {}

    def _live(self, user_id: str) -> _Timeline | None:
        found = self._timelines.get(user_id)
        if found is not None and found.expires <= time.monotonic():
            del self._timelines[user_id]
            return None
        return found

    def _add(self, timeline: _Timeline, entries: Iterable[Entry]) -> None:
        scores = timeline.scores
        for subject, score in entries:
            if scores.get(subject, -1) < score:
                scores[subject] = score
        if len(scores) > self.length:
            for subject, _ in sorted(scores.items(), key=lambda e: e[1])[: len(scores) - self.length]:
                del scores[subject]
            timeline.older = True

    def read(self, user_id: str, before: int | None, count: int) -> Slice | None:
        with self._lock:
            timeline = self._live(user_id)
            if timeline is None:
                return None
            timeline.expires = time.monotonic() + self.ttl
            below = [(s, v) for s, v in timeline.scores.items() if before is None or v < before]
            below.sort(key=lambda e: e[1], reverse=True)
            return Slice(entries=below[:count], size=len(timeline.scores), older=timeline.older)

    def fill(self, user_id: str, entries: Iterable[Entry], *, older: bool = False) -> None:
        timeline = _Timeline(expires=time.monotonic() + self.ttl, older=older)
        self._add(timeline, entries)
        with self._lock:
            self._timelines[user_id] = timeline

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
            timeline = self._live(user_id)
            found = timeline.scores if timeline is not None else {}
            return {s: found[s] for s in subjects if s in found}

    def remove(self, user_id: str, subjects: Iterable[int]) -> None:
        with self._lock:
            timeline = self._live(user_id)
            if timeline is not None:
                for subject in subjects:
                    timeline.scores.pop(subject, None)

    def drop(self, user_id: str) -> None:
        with self._lock:
            self._timelines.pop(user_id, None)

    def size(self, user_id: str) -> int:
        with self._lock:
            timeline = self._live(user_id)
            return 0 if timeline is None else len(timeline.scores)
