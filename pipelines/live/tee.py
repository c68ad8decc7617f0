"""``TeeSink``: one live session handed to a primary sink and to any number of taps.

The primary (the LL-HLS packager and recorder) is the one that matters: its errors propagate as
they would without the tee. A tap (a WebRTC relay, a transcoded rendition) that raises is logged,
closed and dropped, and the session goes on without it, so a tap can never disturb the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.sinks import MediaSink, StreamGrant

__all__ = ["TeeSink", "Tap"]

log = logging.getLogger(__name__)

#: Makes a tap for a new live session, or ``None`` when it has nothing to do with this one.
Tap = Callable[[StreamGrant], MediaSink | None]


class TeeSink:
    """Implements ``pipelines.sinks.MediaSink`` by forwarding each call to ``primary``, then to ``taps``."""

    def __init__(self, primary: MediaSink, taps: list[MediaSink]) -> None:
        self.primary = primary
        self.taps = list(taps)

    async def _each_tap(self, call: Callable[[MediaSink], Awaitable[None]], what: str) -> None:
        for tap in list(self.taps):
            try:
                await call(tap)
            except Exception:  # a tap must never disturb the stream: drop it, keep going
                log.exception("live tap %s failed on %s; dropped from this session", type(tap).__name__, what)
                self.taps.remove(tap)
                if what != "close":
                    await self._close_quietly(tap)

    @staticmethod
    async def _close_quietly(tap: MediaSink) -> None:
        try:
            await tap.on_close()
        except Exception:
            log.exception("live tap %s failed while closing", type(tap).__name__)

    async def on_metadata(self, metadata: dict[str, Any]) -> None:
        await self.primary.on_metadata(metadata)
        await self._each_tap(lambda tap: tap.on_metadata(metadata), "metadata")

    async def on_video(self, frame: VideoFrame) -> None:
        await self.primary.on_video(frame)
        await self._each_tap(lambda tap: tap.on_video(frame), "video")

    async def on_audio(self, frame: AudioFrame) -> None:
        await self.primary.on_audio(frame)
        await self._each_tap(lambda tap: tap.on_audio(frame), "audio")

    async def on_close(self) -> None:
        try:
            await self.primary.on_close()
        finally:
            await self._each_tap(lambda tap: tap.on_close(), "close")
