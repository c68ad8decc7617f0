"""A WHEP viewer that measures glass-to-glass latency: an aiortc client plays the stream over
WebRTC, reads the send time drawn into each decoded frame and notes ``decoded - sent`` (seconds).
``WhipClockPublisher`` draws the same clock into a WHIP publish, for WHIP-to-WHEP latency.

The offer is retried until the stream is live (409 before). aiortc's receiver hands a video frame
over once the first packet of the next frame arrives, so about one frame interval (40 ms at
25 fps) of the figure is the client's own jitter buffer; a browser releases a frame on its last
packet. No playout delay is added on top.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import av
import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError

from benchmarks._live_clock import FPS, draw, read

__all__ = ["WhepViewer", "WhipClockPublisher"]

log = logging.getLogger(__name__)

SDP = {"Content-Type": "application/sdp"}


class WhepViewer:
    """Plays ``whep_url`` until ``stop`` is set; ``latencies`` are seconds, one per decoded frame."""

    mode = "whep"

    def __init__(self, whep_url: str, stop: threading.Event, join_timeout_s: float = 15.0) -> None:
        self.url, self.stop, self.join_timeout_s = whep_url, stop, join_timeout_s
        self.latencies: list[float] = []
        self.errors = 0
        self.answered_s: float | None = None
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="viewer-whep", daemon=True
        )

    async def _offer(self, http: httpx.AsyncClient, pc: RTCPeerConnection) -> str | None:
        """POST the offer until the stream is live; the session URL, or None when it never was."""
        deadline = time.monotonic() + self.join_timeout_s
        assert pc.localDescription is not None
        while not self.stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            response = await http.post(self.url, content=pc.localDescription.sdp, headers=SDP)
            if response.status_code == 201:
                self.answered_s = time.monotonic() - started
                await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
                return str(httpx.URL(self.url).join(response.headers["location"]))
            if response.status_code != 409:  # 409: not live yet
                log.warning("WHEP offer answered %d: %s", response.status_code, response.text[:200])
                self.errors += 1
            await asyncio.sleep(0.1)
        return None

    async def _run(self) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        async with httpx.AsyncClient(timeout=20) as http:
            session = await self._offer(http, pc)
            if session is None:
                self.errors += 1
                await pc.close()
                return
            track = next(t.receiver.track for t in pc.getTransceivers() if t.kind == "video")
            while not self.stop.is_set():
                try:
                    frame = await asyncio.wait_for(track.recv(), 0.5)
                except TimeoutError:
                    continue
                except MediaStreamError:
                    break
                arrival = time.time()
                assert isinstance(frame, av.VideoFrame)
                sent = read(frame.to_ndarray(format="gray"), int(arrival * 1000)) / 1000
                self.latencies.append(arrival - sent)
            try:
                await http.delete(session)
            except httpx.HTTPError:
                pass  # the stream ended first: the session is gone already
        await pc.close()


class ClockTrack(VideoStreamTrack):
    """Frames of the drawn clock at ``FPS``, paced by aiortc; each drawn as it is handed over."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.remaining = int(seconds * FPS)
        self.frames = 0

    async def recv(self) -> av.VideoFrame:
        if self.remaining <= 0:
            self.stop()
            raise MediaStreamError
        pts, time_base = await self.next_timestamp()
        gray = draw(int(time.time() * 1000))
        frame = av.VideoFrame.from_ndarray(np.stack([gray] * 3, axis=-1), format="rgb24").reformat(
            format="yuv420p"
        )
        frame.pts, frame.time_base = pts, time_base
        self.remaining -= 1
        self.frames += 1
        return frame


class WhipClockPublisher:
    """Publishes the drawn clock for ``seconds`` over WHIP (aiortc encodes it as VP8; the server
    decodes and encodes it to H.264), then ends the session with DELETE."""

    def __init__(self, whip_url: str, token: str, seconds: float) -> None:
        self.url, self.token, self.seconds = whip_url, token, seconds
        self.track = ClockTrack(seconds)
        self.error: str | None = None
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="whip-clock", daemon=True
        )

    async def _run(self) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver(self.track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        headers = {**SDP, "Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(timeout=20) as http:
            response = await http.post(self.url, content=pc.localDescription.sdp, headers=headers)
            if response.status_code != 201:
                self.error = f"WHIP answered {response.status_code}: {response.text[:200]}"
                await pc.close()
                return
            await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
            session = str(httpx.URL(self.url).join(response.headers["location"]))
            while self.track.readyState == "live":
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # the last frames reach the viewers
            await http.delete(session, headers=headers)
        await pc.close()
