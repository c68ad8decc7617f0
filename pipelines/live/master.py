"""``MasterPlaylist``: when a live session's multivariant playlist is written, and what it lists.

The source rendition is listed first, then the rungs, largest first. The playlist is written
once the source has a segment and every expected rung has one too (a rung's bandwidth and codec
string are measured from its first segment), so that a player starting early sees the whole
ladder. A rung that is late does not hold the stream back: once the source has
``patience_segments`` segments the playlist is written with what is there, and written again
as each late rung arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pipelines.live.playlist import Variant, render_multivariant

__all__ = ["MasterPlaylist"]


class MasterPlaylist:
    """Collects variants (from any thread) and writes the playlist through ``write(name, bytes)``."""

    def __init__(self, write: Callable[[str, bytes], None], name: str, *, patience_segments: int = 2) -> None:
        self.write = write
        self.name = name
        self.patience_segments = patience_segments
        self.writes = 0
        self._source: Variant | None = None
        self._expected: list[str] | None = None
        self._rungs: dict[str, Variant] = {}
        self._lock = threading.Lock()

    def expect(self, rungs: list[str]) -> None:
        """The names of the rungs this session will have (``[]`` for the source alone)."""
        with self._lock:
            self._expected = list(rungs)
            self._maybe_write(force=False)

    def source(self, variant: Variant, segments: int) -> None:
        """The source's entry, reported after each cut with the number of complete segments."""
        with self._lock:
            first = self._source is None
            self._source = variant
            if first or (self.writes == 0 and segments >= self.patience_segments):
                self._maybe_write(force=segments >= self.patience_segments)

    def rung(self, name: str, variant: Variant) -> None:
        """A rung's entry, once it has its first segment."""
        with self._lock:
            self._rungs[name] = variant
            self._maybe_write(force=self.writes > 0)

    def drop(self, name: str) -> None:
        """A rung that failed before its first segment: no longer waited for."""
        with self._lock:
            if self._expected is not None and name in self._expected:
                self._expected.remove(name)
                if self.writes == 0:
                    self._maybe_write(force=False)

    def finish(self) -> None:
        """The session ended: write the playlist now if it never was (a very short session)."""
        with self._lock:
            if self.writes == 0:
                self._maybe_write(force=True)

    def _maybe_write(self, *, force: bool) -> None:
        if self._source is None:
            return
        expected = self._expected
        if not force and (expected is None or any(name not in self._rungs for name in expected)):
            return
        order = expected if expected is not None else list(self._rungs)
        variants = [self._source] + [self._rungs[name] for name in order if name in self._rungs]
        self.write(self.name, render_multivariant(variants).encode())
        self.writes += 1
