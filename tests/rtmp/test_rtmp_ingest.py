"""Real publishers (ffmpeg CLI, PyAV) against the server: frames, keys, one publisher, reconnects."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

from pipelines import amf0
from rtmp import control
from rtmp.chunks import ChunkReader, ChunkWriter, Message
from rtmp.handshake import client_handshake

Start = Callable[[list[str]], subprocess.Popen[bytes]]
Args = Callable[..., list[str]]
Ingest = Any  # the ``ingest`` fixture's object (tests/rtmp/conftest.py)


def test_ffmpeg_publish_delivers_h264_and_aac(ingest: Ingest, publishers: Start, ffmpeg_args: Args) -> None:
    proc = publishers(ffmpeg_args(ingest.url("key-one"), 3, bframes=2))
    assert proc.wait(20) == 0, proc.stderr.read() if proc.stderr else ""
    assert ingest.wait_for(lambda: ingest.auth.states_of("stream-1")[-1:] == ["idle"])
    (sink,) = ingest.sinks
    assert ingest.auth.states_of("stream-1") == ["connected", "live", "idle"]
    assert sink.closed == 1
    assert sink.metadata[0]["width"] == 320 and sink.metadata[0]["height"] == 240
    assert sink.metadata[0]["videocodecid"] == 7 and sink.metadata[0]["audiocodecid"] == 10

    config, *frames = sink.video
    assert config.is_config and config.codec == "h264" and config.keyframe
    assert config.data[0] == 1  # AVCDecoderConfigurationRecord version
    assert 74 <= len(frames) <= 76
    assert all(not f.is_config and f.codec == "h264" for f in frames)
    assert [i for i, f in enumerate(frames) if f.keyframe] == [i for i in (0, 50) if i < len(frames)]
    decode_times = [f.ts_ms for f in frames]
    assert decode_times == sorted(decode_times)
    assert any(f.cts_ms > 0 for f in frames)  # B-frames: composition offsets are carried
    presentation = sorted(f.ts_ms + f.cts_ms for f in frames)
    steps = {b - a for a, b in zip(presentation, presentation[1:], strict=False)}
    assert steps <= {39, 40, 41}
    assert (presentation[-1] - presentation[0]) == 40 * (len(frames) - 1)

    audio_config, *audio = sink.audio
    assert audio_config.is_config and audio_config.data[:2] == bytes([0x12, 0x08])  # AAC LC, 44.1 kHz, mono
    assert abs(len(audio) - 3 * 44100 / 1024) <= 4
    audio_times = [a.ts_ms for a in audio]
    assert audio_times == sorted(audio_times)


def test_ffmpeg_enhanced_rtmp_hevc(ingest: Ingest, publishers: Start, ffmpeg_args: Args) -> None:
    proc = publishers(ffmpeg_args(ingest.url("key-one"), 2, codec="libx265"))
    assert proc.wait(20) == 0, proc.stderr.read() if proc.stderr else ""
    assert ingest.wait_for(lambda: bool(ingest.sinks) and ingest.sinks[0].closed == 1)
    config, *frames = ingest.sinks[0].video
    assert config.is_config and config.codec == "hevc" and config.data[0] == 1  # hvcC version
    assert len(frames) == 50 and {f.codec for f in frames} == {"hevc"}
    assert frames[0].keyframe and not any(f.is_config for f in frames)
    presentation = sorted(f.ts_ms + f.cts_ms for f in frames)
    assert presentation[-1] - presentation[0] == 40 * 49


def test_pyav_publisher(ingest: Ingest, publishers: Start, pyav_args: Args) -> None:
    proc = publishers(pyav_args(ingest.url("key-two"), 30))
    assert proc.wait(30) == 0, proc.stderr.read() if proc.stderr else ""
    assert ingest.wait_for(lambda: bool(ingest.sinks) and ingest.sinks[0].closed == 1)
    (sink,) = ingest.sinks
    assert sink.grant.stream_id == "stream-2"
    assert [f.is_config for f in sink.video] == [True] + [False] * 30
    assert [f.ts_ms for f in sink.video[1:]] == [40 * i for i in range(30)]
    assert [i for i, f in enumerate(sink.video[1:]) if f.keyframe] == [0, 10, 20]


async def _publish_raw(port: int, key: str) -> tuple[dict[str, object], bool]:
    """Connect and publish ``key`` by hand; return the publish onStatus info and whether the server
    then closed the connection (when a video message is sent after the answer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await client_handshake(reader, writer, 2.0)
        out = ChunkWriter()
        chunks = ChunkReader(reader, max_message_size=1 << 20)

        def command(stream_id: int, *values: object) -> bytes:
            return out.encode(Message(control.COMMAND_AMF0, stream_id, 0, amf0.encode(*values), 3))

        writer.write(command(0, "connect", 1, {"app": "live", "tcUrl": f"rtmp://127.0.0.1:{port}/live"}))
        writer.write(command(0, "createStream", 2, None))
        writer.write(command(1, "publish", 3, None, key, "live"))
        await writer.drain()
        while True:
            message = await asyncio.wait_for(chunks.read_message(), 3)
            if message.type_id == control.COMMAND_AMF0:
                values = amf0.decode(message.payload)
                if values[0] == "onStatus":
                    info = values[3]
                    break
        writer.write(out.encode(Message(control.VIDEO, 1, 0, b"\x17\x01\x00\x00\x00\x00\x00\x00\x01\x65", 4)))
        try:
            closed = await asyncio.wait_for(reader.read(), 3) == b""
        except ConnectionError:
            closed = True
        except TimeoutError:
            closed = False
        return info, closed
    finally:
        writer.close()


def test_wrong_key_is_refused_before_any_media(ingest: Ingest, publishers: Start, ffmpeg_args: Args) -> None:
    proc = publishers(ffmpeg_args(ingest.url("not-a-key"), 2))
    assert proc.wait(15) != 0
    proc = publishers(ffmpeg_args(ingest.url("key-one", app="other"), 2))
    assert proc.wait(15) != 0
    info, closed = ingest.loop.call(_publish_raw(ingest.port, "wrong"))
    assert info["code"] == "NetStream.Publish.BadName" and info["level"] == "error"
    assert closed
    assert ingest.sinks == [] and ingest.auth.states == []


def test_second_publisher_is_refused_and_first_undisturbed(
    ingest: Ingest, publishers: Start, ffmpeg_args: Args
) -> None:
    first = publishers(ffmpeg_args(ingest.url("key-one"), 3))
    assert ingest.wait_for(lambda: bool(ingest.sinks) and len(ingest.sinks[0].video) > 5)
    info, closed = ingest.loop.call(_publish_raw(ingest.port, "key-one"))
    assert info["code"] == "NetStream.Publish.BadName" and closed
    second = publishers(ffmpeg_args(ingest.url("key-one"), 1))
    assert second.wait(15) != 0
    assert first.wait(20) == 0
    assert ingest.wait_for(lambda: ingest.sinks[0].closed == 1)
    assert len(ingest.sinks) == 1
    assert 74 <= len(ingest.sinks[0].video) - 1 <= 76
    assert ingest.auth.states_of("stream-1") == ["connected", "live", "idle"]


def test_reconnect_within_window_keeps_the_sink(ingest: Ingest, publishers: Start, ffmpeg_args: Args) -> None:
    first = publishers(ffmpeg_args(ingest.url("key-one"), 30))
    assert ingest.wait_for(lambda: bool(ingest.sinks) and len(ingest.sinks[0].video) > 20)
    first.send_signal(signal.SIGKILL)
    first.wait(5)
    assert ingest.wait_for(lambda: ingest.auth.states_of("stream-1")[-1:] == ["disconnected"])
    before = len(ingest.sinks[0].video)
    second = publishers(ffmpeg_args(ingest.url("key-one"), 1))
    assert second.wait(15) == 0
    assert ingest.wait_for(lambda: ingest.sinks[0].closed == 1)
    (sink,) = ingest.sinks
    assert ingest.auth.states_of("stream-1") == [
        "connected",
        "live",
        "disconnected",
        "connected",
        "live",
        "idle",
    ]
    assert len(sink.video) - before >= 25
    times = [f.ts_ms for f in sink.video]
    assert times == sorted(times)  # the resumed publisher's clock is rebased after the first one's


def test_dropped_publisher_ends_after_the_window(
    ingest: Ingest, publishers: Start, ffmpeg_args: Args
) -> None:
    proc = publishers(ffmpeg_args(ingest.url("key-two"), 30))
    assert ingest.wait_for(lambda: bool(ingest.sinks) and len(ingest.sinks[0].video) > 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)
    dropped = time.monotonic()
    assert ingest.wait_for(lambda: ingest.sinks[0].closed == 1, timeout=5)
    assert time.monotonic() - dropped >= 1.5  # the 2 s window, less polling slack
    assert ingest.auth.states_of("stream-2") == ["connected", "live", "disconnected", "idle"]
