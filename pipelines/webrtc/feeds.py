"""Per-viewer tracks fed by a relay: aiortc's sender ``recv``s what the relay ``push``es.

Video items are pre-encoded H.264 access units (``av.Packet``, Annex B, times in ms), which aiortc
packetizes without re-encoding; audio items are Opus packets encoded once by the relay for every
viewer. A viewer that falls ``limit`` items behind loses its backlog: video then resumes at the
next keyframe, so a slow viewer skips ahead instead of drifting behind the live edge.
"""

from __future__ import annotations

import asyncio

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

__all__ = ["VideoFeed", "AudioFeed"]

_END = None


class _Feed(MediaStreamTrack):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._queue: asyncio.Queue[av.Packet | None] = asyncio.Queue()
        self.dropped = 0

    def end(self) -> None:
        """No more media: the sender's next ``recv`` ends the track."""
        self._queue.put_nowait(_END)

    def _drain(self) -> None:
        while not self._queue.empty():
            if self._queue.get_nowait() is _END:
                self._queue.put_nowait(_END)
                return
            self.dropped += 1

    async def recv(self) -> av.Packet:  # aiortc accepts packets as well as frames
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is _END:
            self.stop()
            raise MediaStreamError
        return item


class VideoFeed(_Feed):
    kind = "video"

    def __init__(self, limit: int = 90) -> None:
        super().__init__(limit)
        self._need_key = True

    def push(self, packet: av.Packet, keyframe: bool) -> None:
        if self._queue.qsize() >= self.limit:
            self._drain()
            self._need_key = True
        if self._need_key and not keyframe:
            self.dropped += 1
            return
        self._need_key = False
        self._queue.put_nowait(packet)


class AudioFeed(_Feed):
    kind = "audio"

    def __init__(self, limit: int = 100) -> None:
        super().__init__(limit)

    def push(self, packet: av.Packet) -> None:
        if self._queue.qsize() >= self.limit:
            self._drain()
        self._queue.put_nowait(packet)
