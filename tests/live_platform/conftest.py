"""Fixtures of the live platform tests: the platform's RTMP ingest on a thread of its own.

A test module may set ``RECONNECT_WINDOW_S`` (seconds, 1.0 by default) to end sessions sooner.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.platform import Platform

from pipelines.live import LiveSettings
from rtmp import RtmpLimits
from workers.live import RtmpThread, build_ingest


@pytest.fixture
def ingest(platform: Platform, request: pytest.FixtureRequest) -> Iterator[RtmpThread]:
    window = getattr(request.module, "RECONNECT_WINDOW_S", 1.0)
    thread = RtmpThread(
        "127.0.0.1", 0, build_ingest(platform.services, LiveSettings()), RtmpLimits(reconnect_window_s=window)
    ).start()
    try:
        yield thread
    finally:
        thread.stop()
