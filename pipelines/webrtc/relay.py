"""``WhepRelay``: one live stream's media fanned out to WHEP viewers, video without re-encoding.

The relay is an ``pipelines.sinks.MediaSink`` that must be driven on the event loop its viewers' peer
connections run on. H.264 access units go to every viewer as they are (converted to Annex B,
parameter sets in front of each keyframe, so a viewer can start at any keyframe); AAC is decoded
and encoded to Opus once, for all viewers, as WebRTC has no AAC. A viewer joins at the next
keyframe. Other video codecs (HEVC, AV1 over Enhanced RTMP) are not relayed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
from aiortc import RTCPeerConnection
from av.audio.codeccontext import AudioCodecContext

from pipelines.errors import BadBitstream
from pipelines.frames import AudioFrame, VideoFrame
from pipelines.h264 import AvcConfig, parse_avcc, to_annexb
from pipelines.webrtc.errors import SessionLimit, SessionNotFound, UnsupportedSource
from pipelines.webrtc.feeds import AudioFeed, VideoFeed
from pipelines.webrtc.peers import (
    IceServer,
    answer,
    new_peer,
    no_ice_servers,
    offered_kinds,
    prefer_h264,
    set_offer,
)

__all__ = ["WhepRelay", "Viewer", "RelayLimits"]

log = logging.getLogger(__name__)

MS = Fraction(1, 1000)
OPUS_RATE = 48_000
OPUS_FRAME = 960  # samples: 20 ms at 48 kHz


@dataclass(frozen=True, slots=True)
class RelayLimits:
    """``max_viewers`` per stream; ``connect_timeout_s`` for a viewer to finish ICE and DTLS."""

    max_viewers: int = 50
    connect_timeout_s: float = 20.0
    #: Called for each new peer, so that short-lived TURN credentials are always fresh.
    ice_servers: Callable[[], Sequence[IceServer]] = no_ice_servers


@dataclass(eq=False)
class Viewer:
    id: str
    pc: RTCPeerConnection
    video: VideoFeed | None
    audio: AudioFeed | None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class _OpusTranscoder:
    """AAC access units in, Opus packets (20 ms, 48 kHz stereo) out, keeping the source's clock."""

    def __init__(self, config: bytes) -> None:
        self.decoder = av.CodecContext.create("aac", "r")
        assert isinstance(self.decoder, AudioCodecContext)
        self.decoder.extradata = config
        self.resampler = av.AudioResampler(
            format="s16", layout="stereo", rate=OPUS_RATE, frame_size=OPUS_FRAME
        )
        encoder = av.CodecContext.create("libopus", "w")
        assert isinstance(encoder, AudioCodecContext)
        encoder.sample_rate, encoder.format, encoder.layout = OPUS_RATE, "s16", "stereo"
        encoder.bit_rate = 64_000
        encoder.time_base = Fraction(1, OPUS_RATE)
        encoder.options = {"application": "lowdelay"}
        self.encoder = encoder
        self._next_pts: int | None = None

    def transcode(self, data: bytes, ts_ms: int) -> list[av.Packet]:
        out: list[av.Packet] = []
        for frame in self.decoder.decode(av.Packet(data)):
            for chunk in self.resampler.resample(frame):
                if self._next_pts is None:
                    self._next_pts = ts_ms * OPUS_RATE // 1000
                chunk.pts, chunk.time_base = self._next_pts, Fraction(1, OPUS_RATE)
                self._next_pts += chunk.samples
                out.extend(self.encoder.encode(chunk))
        for packet in out:
            packet.time_base = Fraction(1, OPUS_RATE)
        return out


class WhepRelay:
    """Implements ``pipelines.sinks.MediaSink``; ``open_viewer`` answers a WHEP offer with a new viewer."""

    def __init__(self, stream_id: str, limits: RelayLimits | None = None) -> None:
        self.stream_id = stream_id
        self.limits = limits or RelayLimits()
        self.viewers: dict[str, Viewer] = {}
        self.closed = False
        self.frames = 0
        self.video_codec: str | None = None
        self._avc: AvcConfig | None = None
        self._opus: _OpusTranscoder | None = None
        self._warned: set[str] = set()

    # -- the media side --------------------------------------------------------------------------

    async def on_metadata(self, metadata: dict[str, Any]) -> None:
        return None

    async def on_video(self, frame: VideoFrame) -> None:
        self.video_codec = frame.codec
        if frame.codec != "h264":
            self._warn_once(frame.codec, "WHEP relays H.264 only; the video of %s is not relayed")
            return
        try:
            if frame.is_config:
                self._avc = parse_avcc(frame.data)
                return
            if self._avc is None or not self.viewers:
                return
            body = to_annexb(frame.data, self._avc.length_size)
        except BadBitstream:
            self._warn_once("bitstream", "unreadable H.264 from %s; frames skipped")
            return
        if frame.keyframe:
            body = self._avc.annexb_parameter_sets() + body
        packet = av.Packet(body)
        packet.pts, packet.dts, packet.time_base = frame.ts_ms + frame.cts_ms, frame.ts_ms, MS
        self.frames += 1
        for viewer in self.viewers.values():
            if viewer.video is not None:
                viewer.video.push(packet, frame.keyframe)

    async def on_audio(self, frame: AudioFrame) -> None:
        if frame.is_config:
            self._opus = _OpusTranscoder(frame.data)
            return
        listeners = [v.audio for v in self.viewers.values() if v.audio is not None]
        if self._opus is None or not listeners:
            return
        try:
            packets = self._opus.transcode(frame.data, frame.ts_ms)
        except av.FFmpegError:
            self._warn_once("aac", "an AAC frame of %s could not be decoded; skipped")
            return
        for packet in packets:
            for feed in listeners:
                feed.push(packet)

    async def on_close(self) -> None:
        """The stream ended: every viewer's tracks end and their connections close."""
        self.closed = True
        for viewer_id in list(self.viewers):
            await self._drop(viewer_id)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, self.stream_id)

    # -- the viewer side -------------------------------------------------------------------------

    async def open_viewer(self, offer: str) -> tuple[str, str]:
        """Answer a WHEP offer; returns (viewer id, SDP answer). Raises ``BadOffer`` or
        ``SessionLimit``; the viewer is dropped when its connection fails or closes."""
        if self.closed:
            raise SessionNotFound("The stream has ended.")
        if self.video_codec not in (None, "h264"):
            raise UnsupportedSource(
                f"This stream's video is {self.video_codec}; WebRTC playback needs H.264."
            )
        kinds = offered_kinds(offer)
        if len(self.viewers) >= self.limits.max_viewers:
            raise SessionLimit(f"This stream already has {self.limits.max_viewers} WebRTC viewers.")
        viewer = Viewer(secrets.token_urlsafe(16), new_peer(self.limits.ice_servers()), None, None)
        pc = viewer.pc
        try:
            # Transceivers made before the offer is applied take its m-lines, with our codec choice.
            if "video" in kinds:
                viewer.video = VideoFeed()
                prefer_h264(pc.addTransceiver(viewer.video, direction="sendonly"))
            if "audio" in kinds:
                viewer.audio = AudioFeed()
                pc.addTransceiver(viewer.audio, direction="sendonly")
            await set_offer(pc, offer)
            sdp = await answer(pc)
        except BaseException:
            await pc.close()
            raise
        self.viewers[viewer.id] = viewer

        @pc.on("connectionstatechange")
        async def changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._drop(viewer.id)

        watchdog = asyncio.get_running_loop().create_task(self._expire_unconnected(viewer))
        viewer.tasks.add(watchdog)
        watchdog.add_done_callback(viewer.tasks.discard)
        log.info("WHEP viewer %s joined %s (%d watching)", viewer.id, self.stream_id, len(self.viewers))
        return viewer.id, sdp

    async def _expire_unconnected(self, viewer: Viewer) -> None:
        await asyncio.sleep(self.limits.connect_timeout_s)
        if viewer.pc.connectionState != "connected":
            log.info("WHEP viewer %s of %s never connected; dropped", viewer.id, self.stream_id)
            await self._drop(viewer.id)

    async def close_viewer(self, viewer_id: str) -> None:
        """End a viewer's session; ``SessionNotFound`` when there is none of that id."""
        if not await self._drop(viewer_id):
            raise SessionNotFound("No such WHEP session.")

    async def _drop(self, viewer_id: str) -> bool:
        viewer = self.viewers.pop(viewer_id, None)
        if viewer is None:
            return False
        for feed in (viewer.video, viewer.audio):
            if feed is not None:
                feed.end()
        for task in list(viewer.tasks):
            if task is not asyncio.current_task():
                task.cancel()
        await viewer.pc.close()
        log.info("WHEP viewer %s left %s (%d watching)", viewer_id, self.stream_id, len(self.viewers))
        return True
