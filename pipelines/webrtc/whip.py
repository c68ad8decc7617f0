"""``WhipReceiver``: a WHIP publisher's WebRTC tracks turned into the frames of an RTMP publish.

The receiver answers the publisher's offer (receive-only), then decodes what arrives (aiortc
decodes VP8, H.264 and Opus), encodes it to H.264 and AAC on worker threads and hands the frames
to a ``pipelines.sinks.MediaSink`` (the platform's LL-HLS packager, recorder and WHEP relay), one call at a
time. Frame times are milliseconds since the receiver was made: each track's first frame is
stamped with its arrival time and later frames follow the track's own clock, so audio and video
stay together without relying on the sender's RTCP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.sinks import MediaSink
from pipelines.webrtc.encoders import AacEncoder, H264Encoder
from pipelines.webrtc.peers import IceServer, answer, new_peer, no_ice_servers, offered_kinds, set_offer

__all__ = ["WhipReceiver", "WhipSettings"]

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0  # seconds the track consumers get to hand over their last frames


@dataclass(frozen=True, slots=True)
class WhipSettings:
    """``keyframe_ms``: IDR interval of the H.264 made for the stream (LL-HLS cuts segments at
    keyframes); ``connect_timeout_s``: time for the publisher to connect and send media."""

    keyframe_ms: int = 1000
    video_bit_rate: int = 2_500_000
    audio_bit_rate: int = 128_000
    connect_timeout_s: float = 20.0
    #: Called for each new peer, so that short-lived TURN credentials are always fresh.
    ice_servers: Callable[[], Sequence[IceServer]] = no_ice_servers


class _Clock:
    """Maps one track's timestamps to milliseconds on the receiver's clock."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.origin: tuple[int, float] | None = None

    def ms(self, pts: int | None, time_base: Fraction | None) -> int:
        now_ms = (time.monotonic() - self.started) * 1000
        if pts is None or time_base is None:
            return int(now_ms)
        if self.origin is None:
            self.origin = (pts, now_ms)
        first_pts, first_ms = self.origin
        return int(first_ms + (pts - first_pts) * time_base * 1000)


class WhipReceiver:
    """One WHIP session: ``open(offer)`` answers; ``ended`` is set once media stops and the sink
    is closed. ``on_media`` is awaited before the first frame is handed over, ``on_end`` after
    the sink is closed."""

    def __init__(
        self,
        sink: MediaSink,
        settings: WhipSettings | None = None,
        *,
        on_media: Callable[[], Awaitable[None]] | None = None,
        on_end: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.sink = sink
        self.settings = settings or WhipSettings()
        self.pc = new_peer(self.settings.ice_servers())
        self.ended = asyncio.Event()
        self.frames = {"video": 0, "audio": 0}
        self._on_media = on_media
        self._on_end = on_end
        self._lock = asyncio.Lock()
        self._started = time.monotonic()
        self._tasks: set[asyncio.Task[None]] = set()
        self._receiving: set[asyncio.Task[object]] = set()
        self._media_started = False
        self._closing = False
        self._closing_started = False
        self._watchdog: asyncio.Future[None] | None = None

    async def open(self, offer: str) -> str:
        """Answer the publisher's offer (``BadOffer`` if unusable); returns the SDP answer."""
        kinds = offered_kinds(offer)
        pc = self.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            consume = self._video(track) if track.kind == "video" else self._audio(track)
            self._spawn(consume)

        @pc.on("connectionstatechange")
        async def changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close()

        for kind in kinds:
            pc.addTransceiver(kind, direction="recvonly")
        try:
            await set_offer(pc, offer)
            sdp = await answer(pc)
        except BaseException:
            await pc.close()
            raise
        watchdog = asyncio.ensure_future(self._expire_unconnected())
        self._watchdog = watchdog
        return sdp

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire_unconnected(self) -> None:
        await asyncio.sleep(self.settings.connect_timeout_s)
        if self.pc.connectionState != "connected" or not self._media_started:
            log.info(
                "WHIP publisher sent no media within %.0f s; session ended", self.settings.connect_timeout_s
            )
            await self.close()

    async def _hand(self, frames: Sequence[VideoFrame | AudioFrame]) -> None:
        async with self._lock:
            if self._closing:
                return
            for frame in frames:
                if not frame.is_config and not self._media_started:
                    self._media_started = True
                    if self._on_media is not None:
                        await self._on_media()
                if isinstance(frame, VideoFrame):
                    await self.sink.on_video(frame)
                else:
                    await self.sink.on_audio(frame)

    async def _receive(self, track: MediaStreamTrack) -> av.VideoFrame | av.AudioFrame | None:
        """The track's next decoded frame; None once it ends or the session is closing (a track
        that never got media does not end by itself when the connection closes)."""
        task = asyncio.current_task()
        assert task is not None
        self._receiving.add(task)
        try:
            frame = await track.recv()
        except MediaStreamError:
            return None
        except asyncio.CancelledError:
            if not self._closing_started:
                raise
            return None
        finally:
            self._receiving.discard(task)
        assert isinstance(frame, av.VideoFrame | av.AudioFrame)
        return frame

    async def _video(self, track: MediaStreamTrack) -> None:
        encoder = H264Encoder(self.settings.keyframe_ms, self.settings.video_bit_rate)
        clock = _Clock(self._started)
        while True:
            frame = await self._receive(track)
            if frame is None:
                break
            assert isinstance(frame, av.VideoFrame)
            ts = clock.ms(frame.pts, frame.time_base)
            self.frames["video"] += 1
            await self._hand(await asyncio.to_thread(encoder.encode, frame, ts))
        await self._hand(await asyncio.to_thread(encoder.flush))

    async def _audio(self, track: MediaStreamTrack) -> None:
        encoder = AacEncoder(self.settings.audio_bit_rate)
        await self._hand([encoder.config])
        clock = _Clock(self._started)
        while True:
            frame = await self._receive(track)
            if frame is None:
                break
            assert isinstance(frame, av.AudioFrame)
            ts = clock.ms(frame.pts, frame.time_base)
            self.frames["audio"] += 1
            await self._hand(await asyncio.to_thread(encoder.encode, frame, ts))

    async def close(self) -> None:
        """End the session: the connection closes, the sink is closed once, ``on_end`` runs."""
        if self._closing_started:
            await self.ended.wait()
            return
        self._closing_started = True
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        await self.pc.close()  # ends the tracks: the consumers hand their last frames and return
        for waiting in list(self._receiving):
            waiting.cancel()  # only waiting for a frame: nothing is lost
        others = [t for t in self._tasks if t is not asyncio.current_task()]
        if others:
            _, late = await asyncio.wait(others, timeout=CLOSE_TIMEOUT_S)
            for task in late:
                task.cancel()
        async with self._lock:
            self._closing = True
        try:
            await self.sink.on_close()
        finally:
            try:
                if self._on_end is not None:
                    await self._on_end()
            finally:
                self.ended.set()
