"""A flood of idle RTMP connections from one address while a real publisher from another goes
live and is played over LL-HLS, and the connection caps taken from the settings."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import m3u8
import pytest
from support.platform import Platform, embedded, live_server
from support.publishers import Publishers
from support.waiting import wait_until

from control_plane.core.settings import ConfigError, load_settings
from workers.live import RtmpThread, build_ingest

FLOOD_CONNECTIONS = 300
#: Seconds a flood connection waits before opening again once the server has closed it.
FLOOD_PAUSE_S = 1.0
SECONDS = 6.0


class Flood:
    """``connections`` TCP connections from ``source`` to an RTMP port that never send a byte,
    each opened again whenever the server closes it; on an event loop thread of its own."""

    def __init__(self, port: int, source: str, connections: int) -> None:
        self.port, self.source, self.connections = port, source, connections
        self.opened = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rtmp-flood", daemon=True)
        self._tasks: list[asyncio.Task[None]] = []

    def __enter__(self) -> Flood:
        self._thread.start()

        async def begin() -> None:
            self._tasks = [asyncio.create_task(self._hold()) for _ in range(self.connections)]

        asyncio.run_coroutine_threadsafe(begin(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def end() -> None:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(end(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _hold(self) -> None:
        while True:
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", self.port, local_addr=(self.source, 0)
                )
                self.opened += 1
                try:
                    await reader.read()  # until the server closes it
                except ConnectionError:
                    pass
                finally:
                    writer.close()
            await asyncio.sleep(FLOOD_PAUSE_S)


def test_a_flood_from_one_address_does_not_shut_out_a_publisher(
    platform: Platform, ingest: RtmpThread, ffmpeg_publishers: Publishers
) -> None:
    server = ingest.server
    cap = server.limits.max_connections_per_address
    assert FLOOD_CONNECTIONS > server.limits.max_connections > cap
    alice = platform.user("alice")
    body = platform.client.post("/api/v1/live/streams", json={"title": "show"}, headers=alice).json()

    def status() -> str:
        return str(platform.client.get(f"/api/v1/live/streams/{body['id']}", headers=alice).json()["status"])

    with Flood(ingest.port, "127.0.0.2", FLOOD_CONNECTIONS) as flood:
        # Every connection was opened, and the server has closed some that were opened again.
        assert wait_until(lambda: flood.opened > FLOOD_CONNECTIONS, 30)
        proc = ffmpeg_publishers.test_pattern(
            f"rtmp://127.0.0.1:{ingest.port}/live/{body['stream_key']}", seconds=SECONDS
        )
        held_by_flood = []
        with live_server(platform) as base, httpx.Client(base_url=base, timeout=15) as http:
            assert wait_until(lambda: status() == "live", 15), "the publisher never went live"
            hls = f"/live/{body['id']}/hls/"
            assert wait_until(lambda: http.get(hls + "master.m3u8").status_code == 200, 10)
            for _ in range(3):  # a player reloading the live playlist and fetching its newest part
                held_by_flood.append(server.connections - 1)  # all but the publisher's
                media = m3u8.loads(http.get(hls + "index.m3u8").text)
                assert http.get(hls + media.segment_map[0].uri).content[4:8] == b"ftyp"
                part = (
                    media.segments[-1].parts[-1].uri if media.segments[-1].parts else media.segments[-1].uri
                )
                assert http.get(hls + part).content[4:8] in (b"styp", b"moof")
            assert proc.wait(30) == 0
    assert wait_until(lambda: status() == "ended", 15)
    assert max(held_by_flood) <= cap
    assert set(server.admission.refused) == {"address"}


def test_the_caps_come_from_the_settings(tmp_path: Path, platform_factory: Callable[..., Platform]) -> None:
    caps = {
        "rtmp_max_connections": 100,
        "rtmp_max_connections_per_address": 4,
        "rtmp_max_unauthenticated": 20,
    }
    limits = build_ingest(platform_factory(embedded(tmp_path, **caps)).services, webrtc=False).limits
    assert (limits.max_connections, limits.max_connections_per_address, limits.max_unauthenticated) == (
        100,
        4,
        20,
    )
    with pytest.raises(ConfigError, match="SOCIALFLOW_RTMP_MAX_UNAUTHENTICATED must be below"):
        load_settings(data_dir=tmp_path, rtmp_max_connections=64, rtmp_max_unauthenticated=64)
