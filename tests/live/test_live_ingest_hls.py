"""End to end: ffmpeg publishes over RTMP; LL-HLS is parsed and decoded while live and after."""

from __future__ import annotations

import io
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import m3u8
import pytest

from pipelines.live import BadPlaylistRequest, PlaylistTimeout

Publisher = Callable[..., subprocess.Popen[bytes]]
LiveIngest = Any  # the ``live_ingest`` fixture's object (tests/live/conftest.py)


def decode(folder: Path, names: list[str], codec: str = "h264") -> tuple[list[float], int]:
    """Decode init.mp4 + ``names`` as one file; return video presentation times (s) and audio frames."""
    data = (folder / "init.mp4").read_bytes() + b"".join((folder / n).read_bytes() for n in names)
    times: list[float] = []
    audio = 0
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].codec_context.name == codec
        assert container.streams.video[0].codec_context.width == 320
        assert container.streams.audio[0].codec_context.sample_rate == 44100
        for frame in container.decode(container.streams.video[0], container.streams.audio[0]):
            if isinstance(frame, av.VideoFrame):
                assert frame.time is not None
                times.append(frame.time)
            else:
                audio += 1
    return sorted(times), audio


def test_ll_hls_while_live_then_ended(live_ingest: LiveIngest, ffmpeg_publisher: Publisher) -> None:
    proc = ffmpeg_publisher(live_ingest.url("live-key"), 5)
    folder = live_ingest.hls("stream-live")

    def listed() -> bool:
        return bool(live_ingest.sinks) and "seg0.m4s" in (live_ingest.sinks[0].playlist or "")

    assert live_ingest.wait_for(listed, timeout=10)
    (sink,) = live_ingest.sinks

    live = m3u8.loads(sink.playlist)
    assert not live.is_endlist
    assert live.version == 9 and live.target_duration == 2
    assert live.server_control.can_block_reload == "YES" and live.server_control.part_hold_back == 1.0
    assert live.part_inf.part_target == 0.5
    assert live.segment_map[0].uri == "init.mp4"
    assert live.preload_hint.hint_type == "PART"
    complete = [s for s in live.segments if s.uri]
    assert complete[0].uri == "seg0.m4s" and complete[0].duration == pytest.approx(2.0)
    building = live.segments[-1]
    assert building.uri is None or building.uri == complete[-1].uri
    for segment in live.segments:
        assert all(p.duration <= 0.5 for p in segment.parts)
        assert segment.parts[0].independent == "YES"
    assert abs(sum(p.duration for p in complete[0].parts) - 2.0) < 1e-6

    times, audio = decode(folder, ["seg0.m4s"])  # decoded while the stream is still live
    assert len(times) == 50 and audio >= 80
    assert [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)] == [0.04] * 49
    first_parts = [p.uri for p in complete[0].parts[:2]]
    assert len(decode(folder, first_parts)[0]) == 24

    hint = live.preload_hint.uri
    msn, part = (int(x) for x in hint.removeprefix("part").removesuffix(".m4s").split("."))
    started = time.monotonic()
    text = live_ingest.call(sink.wait_for_part(msn, part, timeout_s=3))
    assert time.monotonic() - started < 2.5  # one part is ~0.5 s of real time away
    assert f'URI="{hint}"' in text and (folder / hint).exists()
    with pytest.raises(BadPlaylistRequest):
        live_ingest.call(sink.wait_for_part(msn + 5, 0, timeout_s=1))
    with pytest.raises(PlaylistTimeout):
        live_ingest.call(sink.wait_for_part(msn + 1, 3, timeout_s=0.1))

    assert proc.wait(20) == 0
    assert live_ingest.wait_for(lambda: sink.closed)
    ended = m3u8.load(str(folder / "index.m3u8"))
    assert ended.is_endlist and ended.preload_hint is None
    assert [s.uri for s in ended.segments] == ["seg0.m4s", "seg1.m4s", "seg2.m4s"]
    assert sum(s.duration for s in ended.segments) == pytest.approx(5.0, abs=0.05)
    times, audio = decode(folder, [s.uri for s in ended.segments])
    assert len(times) == 125
    assert abs(audio - 5 * 44100 / 1024) <= 4
    assert "#EXT-X-ENDLIST" in live_ingest.call(sink.wait_for_part(99, 0, timeout_s=0.1))

    master = m3u8.load(str(folder / "master.m3u8"))
    (variant,) = master.playlists
    assert variant.uri == "index.m3u8"
    assert variant.stream_info.codecs == "avc1.64000D,mp4a.40.2"
    assert variant.stream_info.resolution == (320, 240)
    assert variant.stream_info.bandwidth > 100_000
    assert variant.stream_info.closed_captions == "NONE"  # shaka-player probes no segment for them

    with av.open(str(sink.recording_path)) as recording:
        assert recording.duration is not None
        assert abs(recording.duration / 1e6 - 5.0) <= 0.5
        video = recording.streams.video[0]
        frames = sum(1 for _ in recording.decode(video))
        assert frames == 125


@pytest.mark.parametrize(
    ("codec", "decoder", "prefix"), [("hevc", "hevc", "hvc1.1."), ("av1", "libdav1d", "av01.0.")]
)
def test_enhanced_rtmp_codecs_are_packaged(
    live_ingest: LiveIngest, ffmpeg_publisher: Publisher, codec: str, decoder: str, prefix: str
) -> None:
    proc = ffmpeg_publisher(live_ingest.url("live-key"), 3, codec)
    assert proc.wait(20) == 0
    assert live_ingest.wait_for(lambda: bool(live_ingest.sinks) and live_ingest.sinks[0].closed)
    folder = live_ingest.hls("stream-live")
    ended = m3u8.load(str(folder / "index.m3u8"))
    assert ended.is_endlist and sum(s.duration for s in ended.segments) == pytest.approx(3.0, abs=0.05)
    times, _ = decode(folder, [s.uri for s in ended.segments], codec=decoder)
    assert len(times) == 75
    codecs = m3u8.load(str(folder / "master.m3u8")).playlists[0].stream_info.codecs
    assert codecs.startswith(prefix) and codecs.endswith(",mp4a.40.2")
    with av.open(str(live_ingest.sinks[0].recording_path)) as recording:
        assert sum(1 for _ in recording.decode(recording.streams.video[0])) == 75


def test_reconnect_continues_the_same_live_session(
    live_ingest: LiveIngest, ffmpeg_publisher: Publisher
) -> None:
    first = ffmpeg_publisher(live_ingest.url("live-key"), 30)
    folder = live_ingest.hls("stream-live")
    assert live_ingest.wait_for(lambda: (folder / "seg0.m4s").exists(), timeout=10)
    first.send_signal(signal.SIGKILL)
    first.wait(5)
    second = ffmpeg_publisher(live_ingest.url("live-key"), 2.5)
    assert second.wait(20) == 0
    assert live_ingest.wait_for(lambda: live_ingest.sinks[0].closed)
    assert len(live_ingest.sinks) == 1
    ended = m3u8.load(str(folder / "index.m3u8"))
    names = [s.uri for s in ended.segments]
    assert names == [f"seg{i}.m4s" for i in range(len(names))] and len(names) >= 3
    times, _ = decode(folder, names)
    assert times == sorted(times) and len(set(times)) == len(times)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert max(gaps) < 0.2  # the resumed publisher's clock continues the first one's
    total = sum(s.duration for s in ended.segments)
    assert total == pytest.approx(times[-1] - times[0] + 0.04, abs=0.1)
    with av.open(str(live_ingest.sinks[0].recording_path)) as recording:
        assert recording.duration is not None
        assert abs(recording.duration / 1e6 - total) <= 0.5
