"""What a player's buffer sees of every LL-HLS part: audio and video over the same span, both
timelines continuous from part to part, ``INDEPENDENT=YES`` exactly where a part starts with a
keyframe, and hold-backs and program date-times that match the real durations. Real streams
(ffmpeg's H.264 and AAC) through ``LiveSink`` with a ladder, so every rung is checked too."""

from __future__ import annotations

import asyncio
import re
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import imageio_ffmpeg
import m3u8
import pytest

from pipelines.frames import AudioFrame, VideoFrame
from pipelines.live import LiveSettings, LiveSink, LlHlsPackager, local_writer
from pipelines.packaging.boxes import find_child, read_children
from pipelines.packaging.tracks import NON_SYNC

SECONDS = 5


@dataclass(frozen=True)
class Run:
    """One track's run in a part: start and end in the track's ticks, whether it starts on a sync sample."""

    start: int
    end: int
    sync: bool


def timescales(init: bytes) -> dict[int, tuple[str, int]]:
    """``track id -> (handler, timescale)`` from an init segment."""
    moov = find_child(init, b"moov")
    assert moov is not None
    tracks = {}
    for trak in (b for b in read_children(moov.payload) if b.kind == b"trak"):
        tkhd, mdhd, hdlr = (
            find_child(trak.payload, *p) for p in ([b"tkhd"], [b"mdia", b"mdhd"], [b"mdia", b"hdlr"])
        )
        assert tkhd is not None and mdhd is not None and hdlr is not None
        version = tkhd.payload[0]
        track_id = struct.unpack_from(">I", tkhd.payload, 20 if version == 1 else 12)[0]
        scale = struct.unpack_from(">I", mdhd.payload, 20 if mdhd.payload[0] == 1 else 12)[0]
        tracks[track_id] = (hdlr.payload[8:12].decode(), scale)
    return tracks


def runs(part: bytes) -> dict[int, Run]:
    """``track id -> Run`` of each ``traf`` in a part's ``moof``."""
    moof = find_child(part, b"moof")
    assert moof is not None
    found = {}
    for traf in (b for b in read_children(moof.payload) if b.kind == b"traf"):
        tfhd, tfdt, trun = (find_child(traf.payload, k) for k in (b"tfhd", b"tfdt", b"trun"))
        assert tfhd is not None and tfdt is not None and trun is not None
        track_id = struct.unpack_from(">I", tfhd.payload, 4)[0]
        start = struct.unpack_from(">Q" if tfdt.payload[0] == 1 else ">I", tfdt.payload, 4)[0]
        flags = int.from_bytes(trun.payload[1:4], "big")
        count = struct.unpack_from(">I", trun.payload, 4)[0]
        assert flags & 0x700 == 0x700  # durations, sizes and flags per sample, as the packager writes
        width = 16 if flags & 0x800 else 12
        rows = [struct.unpack_from(">III", trun.payload, 12 + i * width) for i in range(count)]
        found[track_id] = Run(start, start + sum(r[0] for r in rows), not rows[0][2] & NON_SYNC)
    return found


def flv_frames(path: Path) -> Iterator[VideoFrame | AudioFrame]:
    """The FLV's configuration records, then its frames in file order, as RTMP hands them over."""
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


def source(tmp_path: Path, *, fps: int, rate: int, gop: int) -> Path:
    path = tmp_path / f"source-{fps}-{rate}-{gop}.flv"
    args = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={fps}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}",
        "-t", str(SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-g", str(gop), "-threads", "1", "-c:a", "aac", "-f", "flv", str(path),
    ]  # fmt: skip
    subprocess.run(args, check=True)
    return path


def package(flv: Path, folder: Path, settings: LiveSettings) -> list[str]:
    """Feed ``flv`` to a ``LiveSink`` writing into ``folder``; the names written, in order."""
    written: list[str] = []
    store = local_writer(folder)

    def write(name: str, data: bytes) -> None:
        store(name, data)
        written.append(name)

    sink = LiveSink(write, folder.parent / "rec.flv", settings)

    async def feed() -> None:
        await sink.on_metadata({"width": 320.0, "height": 240.0})
        for frame in flv_frames(flv):
            await (sink.on_video(frame) if isinstance(frame, VideoFrame) else sink.on_audio(frame))
        await sink.on_close()

    asyncio.run(feed())
    return written


def check_rendition(folder: Path, playlist: str, init: str, last_lines: str) -> int:
    """Checks every part of one rendition's live playlist (``last_lines``: the text of its last
    live playlist, which still lists parts); returns the number of parts checked."""
    tracks = timescales((folder / init).read_bytes())
    video_id = next(i for i, (h, _) in tracks.items() if h == "vide")
    audio_id = next(i for i, (h, _) in tracks.items() if h == "soun")
    rate = tracks[audio_id][1]
    frame_s = 1024 / rate
    names = sorted(
        (p for p in folder.iterdir() if re.fullmatch(rf"{re.escape(playlist)}part\d+\.\d+\.m4s", p.name)),
        key=lambda p: tuple(int(x) for x in p.name[len(playlist) + 4 : -4].split(".")),
    )
    assert len(names) >= 10
    previous: dict[int, Run] | None = None
    for index, path in enumerate(names):
        part = runs(path.read_bytes())
        assert set(part) == {video_id, audio_id}, f"{path.name} lacks a track"
        video, audio = part[video_id], part[audio_id]
        v0, v1 = video.start / 90_000, video.end / 90_000
        a0, a1 = audio.start / rate, audio.end / rate
        if previous is None:
            assert a0 <= v0 + 1e-9  # audio from before the first keyframe covers its start
        else:
            assert video.start == previous[video_id].end, f"{path.name}: video gap or overlap"
            assert audio.start == previous[audio_id].end, f"{path.name}: audio gap or overlap"
            assert 0 <= a0 - v0 < frame_s + 1e-9
        if index < len(names) - 1:  # the last part ends with the stream: the audio ends there
            assert 0 <= a1 - v1 < frame_s + 1e-9, f"{path.name}: audio ends {a1 - v1:+.4f} s from the video"
        previous = part

    listed = m3u8.loads(last_lines)
    parts = [p for s in listed.segments for p in s.parts]
    assert len(parts) >= 5
    for entry in parts:
        video = runs((folder / entry.uri).read_bytes())[video_id]
        assert (entry.independent == "YES") == video.sync, entry.uri
        assert entry.duration == pytest.approx((video.end - video.start) / 90_000, abs=1e-5)
    return len(names)


@pytest.mark.parametrize(
    ("fps", "rate", "gop", "part_s"),
    [(30, 48000, 30, 0.5), (25, 44100, 15, 0.5), (30, 48000, 60, 0.2)],
    ids=["30fps-48k-gop1s", "25fps-44k-gop0.6s", "30fps-48k-gop2s-0.2s-parts"],
)
def test_every_part_of_every_rung_carries_both_tracks_over_one_span(
    tmp_path: Path, fps: int, rate: int, gop: int, part_s: float
) -> None:
    flv = source(tmp_path, fps=fps, rate=rate, gop=gop)
    folder = tmp_path / "hls"
    settings = LiveSettings(
        part_target_s=part_s,
        rungs=(144,),
        rung_queue_frames=1000,
        rung_preset="ultrafast",
        window_segments=20,
    )
    lives: dict[str, str] = {}
    store = local_writer(folder)

    def write(name: str, data: bytes) -> None:
        store(name, data)
        if name.endswith(".m3u8") and b"#EXT-X-ENDLIST" not in data:
            lives[name] = data.decode()

    sink = LiveSink(write, tmp_path / "rec.flv", settings)

    async def feed() -> None:
        await sink.on_metadata({"width": 320.0, "height": 240.0})
        for frame in flv_frames(flv):
            await (sink.on_video(frame) if isinstance(frame, VideoFrame) else sink.on_audio(frame))
        await sink.on_close()

    asyncio.run(feed())
    assert sink.ladder is not None and [w.rung.name for w in sink.ladder.rungs or []] == ["144p"]
    assert check_rendition(folder, "", "init.mp4", lives["index.m3u8"]) >= SECONDS / part_s
    assert check_rendition(folder, "144p-", "144p-init.mp4", lives["144p.m3u8"]) >= SECONDS / part_s


def test_hold_backs_and_dates_follow_the_real_durations(tmp_path: Path) -> None:
    flv = source(tmp_path, fps=25, rate=44100, gop=30)  # 1.2 s GOPs: 2.4 s segments
    package(flv, tmp_path / "hls", LiveSettings(ladder=False, window_segments=20))
    text = (tmp_path / "hls" / "index.m3u8").read_text()
    assert "#EXT-X-ENDLIST" in text
    listed = m3u8.loads(text)
    assert [round(s.duration, 3) for s in listed.segments[:-1]] == [2.4] * (len(listed.segments) - 1)
    assert listed.target_duration == 2  # 2.4 s rounds to 2, as RFC 8216bis counts
    stamps = [s.program_date_time.timestamp() for s in listed.segments]
    for (a, b), segment in zip(zip(stamps, stamps[1:], strict=False), listed.segments, strict=False):
        assert b - a == pytest.approx(segment.duration, abs=0.0015)


def test_server_control_hold_backs() -> None:
    packager = LlHlsPackager(LiveSettings(part_target_s=0.2, segment_target_s=1.0))
    packager.playlist.segments = []
    text = packager.playlist.render()
    control = re.search(r"#EXT-X-SERVER-CONTROL:(.*)", text)
    assert control is not None
    attributes = dict(item.split("=") for item in control.group(1).split(","))
    assert attributes == {"CAN-BLOCK-RELOAD": "YES", "HOLD-BACK": "3.000", "PART-HOLD-BACK": "0.400"}
    three = LlHlsPackager(LiveSettings(part_target_s=0.5, part_hold_back_parts=3)).playlist.render()
    assert "PART-HOLD-BACK=1.500" in three and "HOLD-BACK=6.000" in three
    below = LlHlsPackager(LiveSettings(part_target_s=0.5, part_hold_back_parts=1)).playlist.render()
    assert "PART-HOLD-BACK=1.000" in below  # never under two part targets


def test_the_master_comes_once_players_can_start(tmp_path: Path) -> None:
    """A player can start once a whole segment is listed (hls.js plays no playlist without one)
    and at least as many parts as PART-HOLD-BACK asks: the master is written then, and
    playlists answer "not live yet" before."""
    flv = source(tmp_path, fps=30, rate=48000, gop=30)
    written = package(flv, tmp_path / "two-s", LiveSettings(ladder=False))
    master = written.index("master.m3u8")
    assert written[master - 2 : master] == ["seg0.m4s", "index.m3u8"]  # with the first segment
    one_s = LiveSettings(ladder=False, segment_target_s=1.0, part_hold_back_parts=3)
    written = package(flv, tmp_path / "one-s", one_s)
    master = written.index("master.m3u8")
    before = [n for n in written[:master] if n.startswith(("part", "seg"))]
    assert before == ["part0.0.m4s", "part0.1.m4s", "seg0.m4s", "part1.0.m4s"]  # two parts are too few
    written = package(flv, tmp_path / "one-s-two", LiveSettings(ladder=False, segment_target_s=1.0))
    master = written.index("master.m3u8")
    before = [n for n in written[:master] if n.startswith(("part", "seg"))]
    assert before == ["part0.0.m4s", "part0.1.m4s", "seg0.m4s"]  # the default two parts are enough


AVCC = bytes([1, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x04]) + b"\x67SPS" + bytes([1, 0x00, 0x02]) + b"\x68P"


def frames_with_audio_late(
    lag_ms: int, *, audio_until_ms: int | None = None
) -> list[VideoFrame | AudioFrame]:
    """4 s of 25 fps video (a keyframe every second) and 44.1 kHz AAC sent ``lag_ms`` after the
    video of the same time, as publishers that buffer audio do; no audio after ``audio_until_ms``."""
    timed: list[tuple[float, int, VideoFrame | AudioFrame]] = [
        (-1, 0, VideoFrame(0, 0, True, "h264", AVCC, True)),
        (-1, 1, AudioFrame(0, "aac", bytes([0x12, 0x10]), True)),
    ]
    for i in range(100):
        timed.append((i * 40, 2, VideoFrame(i * 40, 0, i % 25 == 0, "h264", bytes([i]), False)))
    for j in range(int(4 * 44100 / 1024)):
        ts = j * 1024 * 1000 / 44100
        if audio_until_ms is None or ts < audio_until_ms:
            timed.append((ts + lag_ms, 3, AudioFrame(int(ts), "aac", b"a" * 7, False)))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [frame for _, _, frame in timed]


def feed(packager: LlHlsPackager, items: list[VideoFrame | AudioFrame]) -> list[list[str]]:
    """The names each frame made the packager write."""
    made = []
    for item in items:
        out = packager.add_video(item) if isinstance(item, VideoFrame) else packager.add_audio(item)
        made.append([name for name, _ in out])
    return made


def test_a_part_waits_for_the_audio_that_covers_it() -> None:
    packager = LlHlsPackager(LiveSettings(master_name=""))
    items = frames_with_audio_late(120)
    made = feed(packager, items)
    first = next(i for i, names in enumerate(made) if "part0.0.m4s" in names)
    assert isinstance(items[first], AudioFrame)  # written when the audio reached the cut
    assert items[first].ts_ms + 1024 * 1000 / 44100 >= 480
    parts = []
    for names in made:
        parts += [n for n in names if n.startswith("part")]
    assert parts[:7] == [f"part0.{i}.m4s" for i in range(6)] + ["part1.0.m4s"]  # a part per GOP too


def test_parts_are_not_held_for_audio_that_stopped() -> None:
    packager = LlHlsPackager(LiveSettings(master_name=""))
    items = frames_with_audio_late(0, audio_until_ms=1000)
    made = feed(packager, items)
    where = {n: i for i, names in enumerate(made) for n in names}
    video_at = {f.ts_ms: i for i, f in enumerate(items) if isinstance(f, VideoFrame)}
    # While it might still come, a part waits for the audio one more part of video at most: part
    # 0.3 (1.0 to 1.48 s) goes out with the first picture 0.5 s after its end.
    assert where["part0.1.m4s"] == video_at[960] and where["part0.3.m4s"] == video_at[2000]
    # Once the audio has been silent for a second, each part goes out when its video is complete.
    assert where["part1.1.m4s"] == video_at[2960] and where["part1.3.m4s"] == video_at[3480]
