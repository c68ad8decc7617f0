"""Viewer counts from playback requests, kept in the control plane's key-value store.

A viewer is an id (a player-chosen ``viewer`` query parameter, else a hash of the client address
and User-Agent). Time is cut into ``bucket_s`` buckets; a viewer is counted once per bucket, and
the count shown is the larger of the current and the previous bucket, so it covers the viewers
seen in the last ``bucket_s`` to ``2 * bucket_s`` seconds. Players reload the live playlist every
part (about a second), so every watching player is seen in every bucket.

The peak is the most viewers any one bucket counted. It is kept with atomic operations only, so
API processes counting at once never lose a level: the first time any bucket reaches ``n``
viewers, a marker for ``n`` is set (set-if-absent) and whoever set it adds one to the peak; as
a bucket reaches ``n`` only after ``n - 1``, the peak equals the highest level reached. Markers
and peak last ``PEAK_TTL`` seconds; the stream service keeps the peak in the database when the
stream ends (``StreamService(peaks=...)``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from control_plane.core.kv import KeyValue

__all__ = ["PEAK_TTL", "ViewerCounter", "viewer_id"]

#: Seconds the peak and its level markers are kept from when each was first set (30 days).
PEAK_TTL = 30 * 86400.0


def viewer_id(explicit: str | None, client: str, user_agent: str) -> str:
    """A short stable id for one player."""
    source = f"v:{explicit}" if explicit else f"c:{client}|{user_agent}"
    return hashlib.sha256(source.encode()).hexdigest()[:24]


class ViewerCounter:
    """Counts distinct viewers per stream. ``bucket_s`` seconds; ``clock`` returns Unix seconds."""

    def __init__(self, kv: KeyValue, *, bucket_s: float = 15.0, clock: Callable[[], float] = time.time):
        self.kv = kv
        self.bucket_s = bucket_s
        self.clock = clock

    def _bucket(self) -> int:
        return int(self.clock() // self.bucket_s)

    def seen(self, stream_id: str, viewer: str) -> None:
        """Record one playback request of ``viewer``."""
        bucket, ttl = self._bucket(), 3 * self.bucket_s
        if self.kv.set(f"live:{stream_id}:seen:{bucket}:{viewer}", b"1", ttl=ttl, only_if_absent=True):
            level = self.kv.incr(f"live:{stream_id}:viewers:{bucket}", ttl=ttl)
            if self.kv.set(f"live:{stream_id}:level:{level}", b"1", ttl=PEAK_TTL, only_if_absent=True):
                self.kv.incr(f"live:{stream_id}:peak", ttl=PEAK_TTL)

    def peak(self, stream_id: str) -> int:
        """The most viewers seen at once (in one bucket) since the stream's first viewer."""
        found = self.kv.get(f"live:{stream_id}:peak")
        return int(found) if found else 0

    def count(self, stream_id: str) -> int:
        bucket = self._bucket()
        counts = (self.kv.get(f"live:{stream_id}:viewers:{b}") for b in (bucket, bucket - 1))
        return max(int(c) if c else 0 for c in counts)
