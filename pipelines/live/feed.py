"""``FrameFeed``: a bounded hand-over of frames between threads that catches up at keyframes.

A consumer that falls behind must not make memory grow without bound, and must not be fed a
picture whose references were dropped. So when ``max_video`` video items wait, video is dropped
until the next keyframe (which is taken as soon as there is room again); other items (audio,
a few bytes each) are dropped only beyond ``max_items``.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Final, Generic, TypeVar

__all__ = ["FrameFeed", "CLOSED"]

T = TypeVar("T")


class _Closed:
    def __repr__(self) -> str:
        return "CLOSED"


#: What ``FrameFeed.get`` returns once the feed is closed and drained.
CLOSED: Final = _Closed()


class FrameFeed(Generic[T]):
    """Thread-safe; one or more producers ``put``, one consumer ``get``s. ``dropped`` counts
    the items left out."""

    def __init__(self, max_video: int, max_items: int | None = None) -> None:
        self.max_video = max_video
        self.max_items = max_items if max_items is not None else 16 * max_video
        self.dropped = 0
        self._items: deque[tuple[T, bool]] = deque()
        self._video = 0
        self._skipping = False
        self._closed = False
        self._ready = threading.Condition()

    @property
    def skipping(self) -> bool:
        """Whether video is being dropped until the next keyframe."""
        return self._skipping

    def put(self, item: T, *, video: bool = False, keyframe: bool = False) -> bool:
        """Queue ``item`` without blocking; False when it was dropped (or the feed is closed)."""
        with self._ready:
            if self._closed:
                return False
            if video:
                if self._video >= self.max_video:
                    self._skipping = True
                if self._skipping and not (keyframe and self._video < self.max_video):
                    self.dropped += 1
                    return False
                self._skipping = False
                self._video += 1
            elif len(self._items) >= self.max_items:
                self.dropped += 1
                return False
            self._items.append((item, video))
            self._ready.notify()
            return True

    def get(self, timeout_s: float | None = None) -> T | _Closed | None:
        """The oldest item; ``CLOSED`` once closed and empty; None after ``timeout_s`` seconds."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._items or self._closed, timeout_s):
                return None
            if not self._items:
                return CLOSED
            item, video = self._items.popleft()
            self._video -= video
            return item

    def close(self) -> None:
        """No more items: ``get`` returns what is queued, then ``CLOSED``."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
