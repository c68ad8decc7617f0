"""The LL-HLS packager fed with synthetic frames: cut rules, naming, window, sample timing."""

from __future__ import annotations

import io
from typing import Any

import av
import m3u8
import pytest

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.live import LiveSettings, LlHlsPackager, UnsupportedLiveCodec

AVCC = bytes([1, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x04]) + b"\x67SPS" + bytes([1, 0x00, 0x02]) + b"\x68P"
ASC = bytes([0x12, 0x10])  # AAC LC, 44.1 kHz, stereo


def frames(seconds: float, gop: int = 25) -> list[VideoFrame | AudioFrame]:
    """25 fps video with a keyframe every ``gop`` frames and 1024-sample AAC, in send order."""
    out: list[tuple[float, int, VideoFrame | AudioFrame]] = [
        (0, 0, VideoFrame(0, 0, True, "h264", AVCC, True)),
        (0, 0, AudioFrame(0, "aac", ASC, True)),
    ]
    for i in range(int(seconds * 25)):
        nal = b"\x65\x88" if i % gop == 0 else b"\x41\x9a"
        payload = b"\x00\x00\x00\x03" + nal + bytes([i % 256])
        out.append((i * 40, 1, VideoFrame(i * 40, 0, i % gop == 0, "h264", payload, False)))
    for j in range(int(seconds * 44100 / 1024)):
        ts = j * 1024 * 1000 / 44100
        out.append((ts, 2, AudioFrame(int(ts), "aac", b"a" * 7, False)))
    out.sort(key=lambda item: (item[0], item[1]))
    return [frame for _, _, frame in out]


def run(packager: LlHlsPackager, items: list[Any]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    order: list[str] = []
    for item in items:
        outputs = packager.add_video(item) if isinstance(item, VideoFrame) else packager.add_audio(item)
        for name, data in outputs:
            files[name] = data
            order.append(name)
    for name, data in packager.finish():
        files[name] = data
        order.append(name)
    assert order[0] == "init.mp4"
    for name in order:  # every playlist names only files written before it
        if name == "index.m3u8":
            listed = m3u8.loads(files[name].decode())
            for segment in listed.segments:
                assert all(p.uri in files for p in segment.parts)
    return files


def test_cuts_parts_and_segments_on_targets() -> None:
    packager = LlHlsPackager(LiveSettings(part_target_s=0.5, segment_target_s=2.0, window_segments=3))
    files = run(packager, frames(10))
    ended = m3u8.loads(files["index.m3u8"].decode())
    assert ended.is_endlist and ended.media_sequence == 2
    assert [s.uri for s in ended.segments] == ["seg2.m4s", "seg3.m4s", "seg4.m4s"]
    assert [s.duration for s in ended.segments] == [2.0, 2.0, 2.0]
    expired = set(packager.expired)
    assert {"seg0.m4s", "seg1.m4s", "part0.0.m4s", "part1.4.m4s"} <= expired and "seg2.m4s" not in expired
    for msn in range(5):
        parts = sorted(n for n in files if n.startswith(f"part{msn}."))
        assert len(parts) == 6  # 0.48 + 0.48 + 0.04 s, then a part from the keyframe at 1 s, twice
        assert files[f"seg{msn}.m4s"] == b"".join(files[f"part{msn}.{i}.m4s"] for i in range(6))

    data = files["init.mp4"] + b"".join(files[f"seg{m}.m4s"] for m in range(5))
    with av.open(io.BytesIO(data)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264" and audio.codec_context.sample_rate == 44100
        packets = [p for p in container.demux(video) if p.size]
    assert [p.dts for p in packets] == [i * 3600 for i in range(250)]
    assert [i for i, p in enumerate(packets) if p.is_keyframe] == list(range(0, 250, 25))
    assert packets[7].size == 7 and bytes(packets[7])[-1] == 7


def test_playlist_while_live_has_parts_and_a_preload_hint() -> None:
    packager = LlHlsPackager(LiveSettings(part_target_s=0.5, segment_target_s=2.0))
    latest = b""
    for item in frames(3.3):
        outputs = packager.add_video(item) if isinstance(item, VideoFrame) else packager.add_audio(item)
        latest = next((d for n, d in outputs if n == "index.m3u8"), latest)
    live = m3u8.loads(latest.decode())
    assert not live.is_endlist
    assert [s.uri for s in live.segments] == ["seg0.m4s", None]
    assert [p.uri for p in live.segments[1].parts] == ["part1.0.m4s", "part1.1.m4s", "part1.2.m4s"]
    assert [p.independent for p in live.segments[0].parts] == ["YES", None, None, "YES", None, None]
    assert [round(p.duration, 2) for p in live.segments[0].parts] == [0.48, 0.48, 0.04, 0.48, 0.48, 0.04]
    assert live.preload_hint.uri == "part1.3.m4s"
    assert max(p.duration for s in live.segments for p in s.parts) <= 0.5


def test_waits_for_a_keyframe_and_drops_what_came_before() -> None:
    packager = LlHlsPackager()
    leading = [VideoFrame(0, 0, True, "h264", AVCC, True), VideoFrame(0, 0, False, "h264", b"p", False)]
    assert [packager.add_video(f) for f in leading] == [[], []]
    assert not packager.started
    outputs = packager.add_video(VideoFrame(40, 0, True, "h264", b"k", False))
    assert [name for name, _ in outputs] == ["init.mp4"] and packager.started
    assert [t.codec_string for t in packager.tracks] == ["avc1.64001F"]


def test_audio_only_stream_when_metadata_says_so() -> None:
    packager = LlHlsPackager(LiveSettings(segment_target_s=2.0))
    packager.set_metadata({"audiocodecid": 10.0})
    items = [f for f in frames(4.5) if isinstance(f, AudioFrame)]
    files = run(packager, items)
    ended = m3u8.loads(files["index.m3u8"].decode())
    assert [t.kind for t in packager.tracks] == ["audio"]
    assert ended.segments[0].duration == pytest.approx(2.0, abs=0.03)
    assert sum(s.duration for s in ended.segments) == pytest.approx((len(items) - 1) * 1024 / 44100, abs=1e-4)


def test_malformed_configuration_is_refused() -> None:
    packager = LlHlsPackager()
    packager.add_video(VideoFrame(0, 0, True, "h264", b"\x00\x01", True))
    with pytest.raises(UnsupportedLiveCodec):
        packager.add_video(VideoFrame(0, 0, True, "h264", b"k", False))


def test_a_clock_reset_mid_stream_continues_the_timeline() -> None:
    packager = LlHlsPackager(LiveSettings(segment_target_s=2.0))
    first = frames(3)
    again = [f for f in frames(3) if not f.is_config]  # the publisher's clock restarts at 0
    files = run(packager, first + again)
    ended = m3u8.loads(files["index.m3u8"].decode())
    assert sum(s.duration for s in ended.segments) == pytest.approx(6.0, abs=0.001)
    data = files["init.mp4"] + b"".join(files[s.uri] for s in ended.segments)
    with av.open(io.BytesIO(data)) as container:
        video = [p.dts for p in container.demux(container.streams.video[0]) if p.size]
    with av.open(io.BytesIO(data)) as container:
        audio = [p.dts for p in container.demux(container.streams.audio[0]) if p.size]
    assert video == [i * 3600 for i in range(150)]
    assert audio == [i * 1024 for i in range(len(audio))]


def test_program_date_time_follows_the_media_timeline() -> None:
    packager = LlHlsPackager(LiveSettings(segment_target_s=2.0), clock=lambda: 1_700_000_000.0)
    files = run(packager, frames(4.5))
    ended = m3u8.loads(files["index.m3u8"].decode())
    stamps = [s.program_date_time.timestamp() for s in ended.segments]
    assert stamps == [1_700_000_000.0, 1_700_000_002.0, 1_700_000_004.0]
    assert "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z" in files["index.m3u8"].decode()
