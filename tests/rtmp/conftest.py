"""Fixtures for RTMP tests: a server on a background event loop, and real publishers.

The server runs in its own thread so that blocking publishers (ffmpeg, PyAV in a child process)
and the test body can run beside it; every fixture stops what it started in its teardown.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import imageio_ffmpeg
import pytest
from support.publishers import Publishers

from pipelines.sinks import StreamGrant
from rtmp import CollectingSink, RtmpLimits, RtmpServer, StaticAuthorizer

T = TypeVar("T")

KEYS = {"key-one": "stream-1", "key-two": "stream-2"}


class LoopThread:
    """An asyncio loop running in a daemon thread; ``call`` runs a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Ingest:
    """A running server with a static authorizer and collecting sinks."""

    loop: LoopThread
    server: RtmpServer
    auth: StaticAuthorizer
    sinks: list[CollectingSink] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, key: str, app: str = "live") -> str:
        return f"rtmp://127.0.0.1:{self.port}/{app}/{key}"

    def sinks_of(self, stream_id: str) -> list[CollectingSink]:
        return [sink for sink in self.sinks if sink.grant.stream_id == stream_id]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()


TEST_LIMITS = RtmpLimits(
    handshake_timeout_s=1.0,
    publish_timeout_s=2.0,
    idle_timeout_s=2.0,
    max_message_size=512 * 1024,
    reconnect_window_s=2.0,
)


@pytest.fixture
def ingest_limits() -> RtmpLimits:
    return TEST_LIMITS


@pytest.fixture
def ingest(ingest_limits: RtmpLimits) -> Iterator[Ingest]:
    loop = LoopThread()
    auth = StaticAuthorizer(KEYS)
    sinks: list[CollectingSink] = []

    def factory(grant: StreamGrant) -> CollectingSink:
        sink = CollectingSink(grant)
        sinks.append(sink)
        return sink

    server = RtmpServer("127.0.0.1", 0, auth, factory, ingest_limits)
    loop.call(server.start())
    try:
        yield Ingest(loop, server, auth, sinks)
    finally:
        loop.call(server.stop())
        loop.close()


def ffmpeg_publish_args(
    url: str, seconds: float, *, bframes: int = 0, rate: int = 25, codec: str = "libx264"
) -> list[str]:
    """ffmpeg pushing ``seconds`` of 320x240 test video at ``rate`` fps and a sine tone, in real time.
    ``codec`` libx265 makes ffmpeg send Enhanced RTMP (FourCC ``hvc1``)."""
    video = ["-c:v", "libx264", "-preset", "superfast", "-bf", str(bframes)]
    if codec == "libx265":
        video = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"]
    return [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={rate}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", str(seconds), *video, "-g", str(2 * rate), "-threads", "1", "-c:a", "aac", "-f", "flv", url,
    ]  # fmt: skip


PYAV_PUBLISHER = """
import sys, av, numpy as np
out = av.open(sys.argv[1], "w", format="flv")
video = out.add_stream("libx264", rate=25)
video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
video.options = {"preset": "ultrafast", "g": "10"}
for i in range(int(sys.argv[2])):
    frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 5 % 256, np.uint8), format="rgb24")
    frame.pts = i
    for packet in video.encode(frame):
        out.mux(packet)
for packet in video.encode():
    out.mux(packet)
out.close()
"""


@pytest.fixture
def publishers(ffmpeg_publishers: Publishers) -> Callable[[list[str]], subprocess.Popen[bytes]]:
    """Starts publisher processes; every one still running is killed at teardown."""
    return ffmpeg_publishers.start


@pytest.fixture
def ffmpeg_args() -> Callable[..., list[str]]:
    """``ffmpeg_args(url, seconds, bframes=0, rate=25)``: an ffmpeg publisher's command line."""
    return ffmpeg_publish_args


@pytest.fixture
def pyav_args() -> Callable[[str, int], list[str]]:
    """``pyav_args(url, frames)``: a PyAV publisher's command line."""
    return pyav_publish_args


def pyav_publish_args(url: str, frames: int) -> list[str]:
    """A child Python process publishing ``frames`` H.264 frames with PyAV (blocking I/O stays out
    of this process, whose event loop thread serves the other end)."""
    return [sys.executable, "-c", PYAV_PUBLISHER, url, str(frames)]
