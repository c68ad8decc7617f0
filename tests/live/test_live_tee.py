"""TeeSink: taps see every call after the primary; a failing tap is dropped, never the stream."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.live import TeeSink

VIDEO = VideoFrame(ts_ms=0, cts_ms=0, keyframe=True, codec="h264", data=b"\0\0\0\1\x65", is_config=False)
AUDIO = AudioFrame(ts_ms=0, codec="aac", data=b"\x21", is_config=False)


class Recorder:
    def __init__(self, log: list[str], name: str, fail_on: str | None = None) -> None:
        self.log, self.name, self.fail_on = log, name, fail_on

    async def _seen(self, what: str) -> None:
        self.log.append(f"{self.name}:{what}")
        if what == self.fail_on:
            raise RuntimeError(f"{self.name} breaks on {what}")

    async def on_metadata(self, metadata: dict[str, object]) -> None:
        await self._seen("metadata")

    async def on_video(self, frame: VideoFrame) -> None:
        await self._seen("video")

    async def on_audio(self, frame: AudioFrame) -> None:
        await self._seen("audio")

    async def on_close(self) -> None:
        await self._seen("close")


async def _session(sink: TeeSink) -> None:
    await sink.on_metadata({})
    await sink.on_video(VIDEO)
    await sink.on_audio(AUDIO)
    await sink.on_close()


def test_taps_follow_the_primary_in_order() -> None:
    seen: list[str] = []
    asyncio.run(_session(TeeSink(Recorder(seen, "p"), [Recorder(seen, "a"), Recorder(seen, "b")])))
    calls = ["metadata", "video", "audio", "close"]
    assert seen == [f"{who}:{call}" for call in calls for who in ("p", "a", "b")]


def test_a_failing_tap_is_closed_and_dropped(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    broken = Recorder(seen, "x", fail_on="video")
    tee = TeeSink(Recorder(seen, "p"), [broken, Recorder(seen, "b")])
    with caplog.at_level(logging.ERROR, logger="pipelines.live.tee"):
        asyncio.run(_session(tee))
    assert tee.taps and broken not in tee.taps
    assert seen == [
        "p:metadata", "x:metadata", "b:metadata",
        "p:video", "x:video", "x:close", "b:video",
        "p:audio", "b:audio",
        "p:close", "b:close",
    ]  # fmt: skip
    assert "dropped from this session" in caplog.text


def test_a_failing_primary_still_closes_the_taps() -> None:
    seen: list[str] = []
    tee = TeeSink(Recorder(seen, "p", fail_on="close"), [Recorder(seen, "a")])
    with pytest.raises(RuntimeError, match="p breaks on close"):
        asyncio.run(tee.on_close())
    assert seen == ["p:close", "a:close"]
