"""What a receiving aiortc peer gets: every track drained until it ends."""

from __future__ import annotations

import asyncio

import av
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

__all__ = ["Received"]


class Received:
    """Attach before the offer: each track the peer receives is read until it ends, keeping the
    decoded video frames and counting the audio frames."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.video: list[av.VideoFrame] = []
        self.audio = 0
        self._tasks: list[asyncio.Task[None]] = []
        pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._drain(track))))

    async def _drain(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    self.video.append(frame)
                else:
                    self.audio += 1
        except MediaStreamError:
            return

    async def ended(self) -> None:
        """Wait for every track to end (after the peer is closed)."""
        await asyncio.gather(*self._tasks)
