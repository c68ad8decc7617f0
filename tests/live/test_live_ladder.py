"""The transcoded live ladder: rung choice, catch-up feeds, and whole sessions fed from a real
H.264 + AAC FLV (made by ffmpeg, read with PyAV) into ``LiveSink``, faster than real time."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import av
import imageio_ffmpeg
import m3u8
import pytest

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.live import FrameFeed, LiveSettings, LiveSink, live_rungs, local_writer, media_playlist_of
from pipelines.live.feed import CLOSED

SECONDS = 10


def test_rungs_below_the_source_never_upscaled() -> None:
    sizes = (720, 480, 360)
    full_hd = live_rungs(1920, 1080, 30, sizes)
    assert [(r.name, r.width, r.height) for r in full_hd] == [
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]
    assert [r.bitrate for r in full_hd] == [2_800_000, 1_401_000, 800_000]
    assert [r.name for r in live_rungs(1280, 720, 30, sizes)] == ["480p", "360p"]  # no 720p copy
    assert live_rungs(640, 360, 30, sizes) == [] and live_rungs(320, 240, 25, sizes) == []
    portrait = live_rungs(1080, 1920, 60, sizes)
    assert (portrait[0].width, portrait[0].height) == (720, 1280)
    assert portrait[0].bitrate == 4_200_000  # the 60 fps rate


def test_frame_feed_skips_to_the_next_keyframe_when_full() -> None:
    feed: FrameFeed[int] = FrameFeed(max_video=3, max_items=5)
    taken = [feed.put(i, video=True, keyframe=i == 0) for i in range(5)]
    assert taken == [True, True, True, False, False] and feed.skipping
    assert feed.get() == 0
    assert not feed.put(5, video=True)  # room again, but 5 depends on the dropped 3 and 4
    assert feed.put(6, video=True, keyframe=True) and not feed.skipping
    assert [feed.put(a) for a in ("a", "b", "c")] == [True, True, False]  # 5 items at most
    feed.close()
    assert [feed.get() for _ in range(6)] == [1, 2, 6, "a", "b", CLOSED]
    assert feed.dropped == 4 and not feed.put(7, video=True, keyframe=True)


def test_media_playlist_of_names() -> None:
    assert media_playlist_of("part3.1.m4s") == "index.m3u8" == media_playlist_of("init.mp4")
    assert media_playlist_of("720p-part3.1.m4s") == "720p.m3u8" == media_playlist_of("720p.m3u8")
    assert media_playlist_of("master.m3u8") is None


@pytest.fixture(scope="module")
def source_flv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of 640x480 25 fps H.264 (B-frames, a keyframe every second) and 44.1 kHz AAC."""
    path = tmp_path_factory.mktemp("ladder") / "source.flv"
    args = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", str(SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "25",
        "-threads", "1", "-c:a", "aac", "-f", "flv", str(path),
    ]  # fmt: skip
    subprocess.run(args, check=True)
    return path


def flv_frames(path: Path) -> Iterator[VideoFrame | AudioFrame]:
    """The FLV's configuration records, then its frames in file order, as RTMP would hand them."""
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        yield VideoFrame(0, 0, True, "h264", bytes(video.codec_context.extradata or b""), True)
        yield AudioFrame(0, "aac", bytes(audio.codec_context.extradata or b""), True)
        for packet in container.demux(video, audio):
            if packet.size == 0 or packet.dts is None or packet.pts is None:
                continue
            ms = packet.time_base * 1000
            dts, pts = int(packet.dts * ms), int(packet.pts * ms)
            if packet.stream is video:
                yield VideoFrame(dts, pts - dts, packet.is_keyframe, "h264", bytes(packet), False)
            else:
                yield AudioFrame(dts, "aac", bytes(packet), False)


@dataclass
class Session:
    sink: LiveSink
    folder: Path


def play(source: Path, folder: Path, settings: LiveSettings, *, close: bool = True) -> Session:
    sink = LiveSink(local_writer(folder), folder.parent / "rec.flv", settings)

    async def feed() -> None:
        await sink.on_metadata({"width": 640.0, "height": 480.0, "framerate": 25.0})
        for frame in flv_frames(source):
            if isinstance(frame, VideoFrame):
                await sink.on_video(frame)
            else:
                await sink.on_audio(frame)
        if close:
            await sink.on_close()

    asyncio.run(feed())
    return Session(sink, folder)


def decode_rendition(
    folder: Path, init: str, segments: list[str]
) -> tuple[tuple[int, int], list[float], int]:
    """(width, height), sorted video presentation times (s) and audio frame count of ``segments``."""
    data = (folder / init).read_bytes() + b"".join((folder / s).read_bytes() for s in segments)
    times: list[float] = []
    audio = 0
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        size = (stream.codec_context.width, stream.codec_context.height)
        for frame in container.decode(stream, container.streams.audio[0]):
            if isinstance(frame, av.VideoFrame):
                assert (frame.width, frame.height) == size and frame.time is not None
                times.append(frame.time)
            else:
                audio += 1
    return size, sorted(times), audio


# A queue large enough that nothing is dropped while frames arrive faster than real time.
LADDER = LiveSettings(rungs=(360, 240), rung_queue_frames=1000, window_segments=10, rung_preset="ultrafast")


def test_ladder_renditions_align_decode_and_are_listed(source_flv: Path, tmp_path: Path) -> None:
    session = play(source_flv, tmp_path / "hls", LADDER)
    folder, sink = session.folder, session.sink
    assert sink.closed and sink.ladder is not None and sink.ladder.dropped == 0

    master = m3u8.load(str(folder / "master.m3u8"))
    listed = [(p.uri, p.stream_info.resolution, p.stream_info.codecs) for p in master.playlists]
    assert [(uri, size) for uri, size, _ in listed] == [
        ("index.m3u8", (640, 480)),
        ("360p.m3u8", (480, 360)),
        ("240p.m3u8", (320, 240)),
    ]
    assert all(re.fullmatch(r"avc1\.[0-9A-F]{6},mp4a\.40\.2", codecs) for _, _, codecs in listed)
    assert all(p.stream_info.closed_captions == "NONE" for p in master.playlists)  # as RFC 8216: all
    bandwidths = [p.stream_info.bandwidth for p in master.playlists[1:]]
    assert bandwidths[0] > bandwidths[1] > 0

    playlists = {uri: m3u8.load(str(folder / uri)) for uri, _, _ in listed}
    shapes = {
        uri: [(s.uri.rsplit("-", 1)[-1], round(s.duration, 3)) for s in p.segments]
        for uri, p in playlists.items()
    }
    assert shapes["index.m3u8"] == [(f"seg{i}.m4s", 2.0) for i in range(SECONDS // 2)]
    assert shapes["360p.m3u8"] == shapes["index.m3u8"] == shapes["240p.m3u8"]
    dates = {uri: [s.program_date_time for s in p.segments] for uri, p in playlists.items()}
    assert dates["360p.m3u8"] == dates["index.m3u8"] == dates["240p.m3u8"]
    assert all(p.is_endlist and p.media_sequence == 0 for p in playlists.values())

    init = {"index.m3u8": "init.mp4", "360p.m3u8": "360p-init.mp4", "240p.m3u8": "240p-init.mp4"}
    decoded = {
        uri: decode_rendition(folder, init[uri], [s.uri for s in p.segments]) for uri, p in playlists.items()
    }
    assert {uri: size for uri, (size, _, _) in decoded.items()} == {
        "index.m3u8": (640, 480),
        "360p.m3u8": (480, 360),
        "240p.m3u8": (320, 240),
    }
    source_times = decoded["index.m3u8"][1]
    assert len(source_times) == SECONDS * 25
    for uri in ("360p.m3u8", "240p.m3u8"):
        _, times, audio = decoded[uri]
        assert len(times) == len(source_times)  # every picture, none dropped
        steps = {round(b - a, 3) for a, b in zip(times, times[1:], strict=False)}
        assert steps == {0.04}
        assert audio >= decoded["index.m3u8"][2] - 2  # the source's AAC, copied

    for segment in ("seg1.m4s", "seg2.m4s"):  # every segment starts with a keyframe of its own
        for prefix in ("", "360p-", "240p-"):
            _, times, _ = decode_rendition(folder, f"{prefix}init.mp4", [prefix + segment])
            assert len(times) == 50


def _parts(text: str) -> list[tuple[str, str]]:
    """The parts of the playlist's complete segments as (name without the rung prefix, duration).

    The segment being built is left out: the decoder holds the newest pictures back a while.
    """
    complete = text[: text.rfind("#EXTINF:")]
    found = re.findall(r'#EXT-X-PART:DURATION=([0-9.]+),URI="([^"]+)"', complete)
    return [(uri.rsplit("-", 1)[-1], duration) for duration, uri in found]


def test_while_live_parts_line_up_and_a_regular_hls_player_plays_the_master(
    source_flv: Path, tmp_path: Path
) -> None:
    session = play(source_flv, tmp_path / "hls", LADDER, close=False)
    folder, sink = session.folder, session.sink
    names = ("index.m3u8", "360p.m3u8", "240p.m3u8")
    try:

        def lined_up() -> bool:
            paths = [folder / name for name in names]
            if not all(p.exists() for p in paths):
                return False
            parts = [_parts(p.read_text()) for p in paths]
            return bool(parts[0]) and parts[0] == parts[1] == parts[2]

        deadline = time.monotonic() + 30
        while not lined_up() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lined_up()  # the rungs caught up: the same parts, named alike, same durations
        for name in names:
            text = (folder / name).read_text()
            assert "#EXT-X-PRELOAD-HINT:TYPE=PART" in text and "#EXT-X-ENDLIST" not in text, name
            live = m3u8.loads(text)  # the other renditions reported at this one's last part
            last = live.segments[-1] if live.segments[-1].parts else live.segments[-2]
            reports = [(r.uri, r.last_msn, r.last_part) for r in live.rendition_reports]
            expected = [
                (n, live.media_sequence + live.segments.index(last), len(last.parts) - 1) for n in names
            ]
            assert reports == [r for r in expected if r[0] != name]
            assert text.count("#EXTINF:") >= 3  # full segments listed for players without parts

        # An older player (FFmpeg's HLS demuxer knows no EXT-X-PART) plays every variant.
        frames: dict[int, int] = {}
        with av.open(str(folder / "master.m3u8"), options={"live_start_index": "0"}) as container:
            videos = list(container.streams.video)
            assert sorted((v.codec_context.width, v.codec_context.height) for v in videos) == [
                (320, 240),
                (480, 360),
                (640, 480),
            ]
            for frame in container.decode(*videos):
                assert isinstance(frame, av.VideoFrame)
                frames[frame.width] = frames.get(frame.width, 0) + 1
                if len(frames) == 3 and min(frames.values()) >= 50:
                    break
        assert sorted(frames) == [320, 480, 640] and min(frames.values()) >= 50
    finally:
        asyncio.run(sink.on_close())


def test_ladder_off_gives_the_source_alone(source_flv: Path, tmp_path: Path) -> None:
    session = play(source_flv, tmp_path / "hls", replace(LADDER, ladder=False))
    assert session.sink.ladder is None
    master = m3u8.load(str(session.folder / "master.m3u8"))
    assert [(p.uri, p.stream_info.resolution) for p in master.playlists] == [("index.m3u8", (640, 480))]
    assert not list(session.folder.glob("*p-*")) and not list(session.folder.glob("*p.m3u8"))


def test_a_rung_that_falls_behind_skips_to_the_next_keyframe(source_flv: Path, tmp_path: Path) -> None:
    # Frames arrive far faster than real time and a rung may queue 3 pictures: it must drop.
    session = play(source_flv, tmp_path / "hls", replace(LADDER, rung_queue_frames=3))
    folder, ladder = session.folder, session.sink.ladder
    assert ladder is not None and ladder.dropped > 0
    source = m3u8.load(str(folder / "index.m3u8"))
    assert sum(s.duration for s in source.segments) == pytest.approx(SECONDS, abs=0.05)  # untouched
    for rung in ("360p", "240p"):
        playlist = m3u8.load(str(folder / f"{rung}.m3u8"))
        assert playlist.is_endlist and playlist.segments
        for segment in playlist.segments:  # whatever was kept decodes on its own, from a keyframe
            size, times, _ = decode_rendition(folder, f"{rung}-init.mp4", [segment.uri])
            assert times and size[1] == int(rung[:-1])


def test_a_failing_rung_leaves_the_source_alone(
    source_flv: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session = play(source_flv, tmp_path / "hls", replace(LADDER, rung_preset="no-such-preset"))
    ladder = session.sink.ladder
    assert ladder is not None and ladder.rungs is not None
    assert all(state.failed for state in ladder.rungs)
    assert "live rung 360p failed" in caplog.text
    master = m3u8.load(str(session.folder / "master.m3u8"))
    assert [p.uri for p in master.playlists] == ["index.m3u8"]
    assert session.sink.master.writes == 1  # at the first segment: failed rungs are not waited for
    source = m3u8.load(str(session.folder / "index.m3u8"))
    assert source.is_endlist and sum(s.duration for s in source.segments) == pytest.approx(SECONDS, abs=0.05)
