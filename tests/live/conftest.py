"""Fixtures for live packaging tests: an RTMP server whose sinks are ``LiveSink``s writing into
``tmp_path``, on a background event loop, and ffmpeg publishers killed at teardown."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support.publishers import Publishers

from pipelines.live import LiveSettings, LiveSink, LocalLiveSinks
from pipelines.sinks import StreamGrant
from rtmp import RtmpLimits, RtmpServer, StaticAuthorizer

T = TypeVar("T")


@dataclass
class LiveIngest:
    loop: asyncio.AbstractEventLoop
    server: RtmpServer
    root: Path
    sinks: list[LiveSink] = field(default_factory=list)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def url(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.server.port}/live/{key}"

    def hls(self, stream_id: str) -> Path:
        return self.root / stream_id / "hls"

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()


@pytest.fixture
def live_ingest(tmp_path: Path) -> Iterator[LiveIngest]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    sinks: list[LiveSink] = []

    local = LocalLiveSinks(tmp_path, LiveSettings(window_segments=4))

    def factory(grant: StreamGrant) -> LiveSink:
        sink = local(grant)
        assert local.sinks[grant.stream_id] is sink
        sinks.append(sink)
        return sink

    auth = StaticAuthorizer({"live-key": "stream-live"})
    server = RtmpServer("127.0.0.1", 0, auth, factory, RtmpLimits(reconnect_window_s=2.0))
    ingest = LiveIngest(loop, server, tmp_path, sinks)
    ingest.call(server.start())
    try:
        yield ingest
    finally:
        ingest.call(server.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture
def ffmpeg_publisher(ffmpeg_publishers: Publishers) -> Callable[..., subprocess.Popen[bytes]]:
    """``start(url, seconds, codec="h264")``: ffmpeg pushing 320x240 25 fps video with a 2 s GOP
    (H.264 with B-frames; HEVC or AV1 over Enhanced RTMP) and AAC, in real time."""
    encoders = {
        "h264": ("-c:v", "libx264", "-preset", "superfast", "-bf", "2"),
        "hevc": ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"),
        "av1": ("-c:v", "libsvtav1", "-preset", "12", "-svtav1-params", "lp=1"),
    }

    def start(url: str, seconds: float, codec: str = "h264") -> subprocess.Popen[bytes]:
        return ffmpeg_publishers.test_pattern(url, seconds=seconds, video=encoders[codec])

    return start
