"""Track descriptions, playlist waits and the FLV recorder, each on its own."""

from __future__ import annotations

import asyncio
import struct
import time
from pathlib import Path

import pytest

from pipelines.amf0 import decode_one
from pipelines.frames import AudioFrame, VideoFrame
from pipelines.live import (
    BadPlaylistRequest,
    FlvRecorder,
    LiveSettings,
    LiveSink,
    LocalLiveSinks,
    PlaylistTimeout,
    UnsupportedLiveCodec,
    local_writer,
    part_position,
)
from pipelines.live.playlist import (
    LivePlaylist,
    Part,
    next_part,
    part_available,
    part_target_of,
    wait_for_next_part,
    wait_for_part,
)
from pipelines.live.tracks import audio_track, parse_audio_specific_config, video_track
from pipelines.sinks import StreamGrant
from rtmp.tags import parse_audio, parse_video

HVCC = bytes([1, 0x01, 0x60, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 93]) + bytes(10)
AV1C = bytes([0x81, 0x08, 0x0C, 0x00])


def test_audio_specific_config() -> None:
    assert parse_audio_specific_config(bytes([0x12, 0x10])) == (2, 44100, 2)
    assert parse_audio_specific_config(bytes([0x11, 0x90])) == (2, 48000, 2)
    explicit = (2 << 35) | (15 << 31) | (22050 << 7) | (1 << 3)
    assert parse_audio_specific_config(explicit.to_bytes(5, "big")) == (2, 22050, 1)
    with pytest.raises(UnsupportedLiveCodec):
        parse_audio_specific_config(b"\x12")
    with pytest.raises(UnsupportedLiveCodec):
        parse_audio_specific_config(bytes([0x16, 0x90]))  # sampling index 13 is reserved
    track = audio_track(2, bytes([0x12, 0x10]))
    assert (track.codec_string, track.timescale, track.channels) == ("mp4a.40.2", 44100, 2)


def test_video_codec_strings() -> None:
    assert video_track(1, "hevc", HVCC, 1280, 720).codec_string == "hvc1.1.6.L93.B0"
    av1 = video_track(1, "av1", AV1C, 640, 360)
    assert av1.codec_string == "av01.0.08M.08" and b"av1C" in av1.sample_entry
    with pytest.raises(UnsupportedLiveCodec):
        video_track(1, "hevc", b"\x01\x02", 0, 0)
    with pytest.raises(UnsupportedLiveCodec):
        video_track(1, "vp9", b"\x01" * 8, 0, 0)


def live_playlist() -> LivePlaylist:
    playlist = LivePlaylist(0.5, 2.0, "init.mp4")
    for msn in range(3):
        for i in range(4):
            playlist.add_part(Part(f"part{msn}.{i}.m4s", 0.5, i == 0), None)
        playlist.close_segment(f"seg{msn}.m4s", 2.0)
    playlist.add_part(Part("part3.0.m4s", 0.5, True), "part3.1.m4s")
    return playlist


def test_part_available() -> None:
    text = live_playlist().render()
    assert part_available(text, 2, None) and part_available(text, 2, 3)
    assert part_available(text, 3, 0) and not part_available(text, 3, 1)
    assert not part_available(text, 3, None) and not part_available(text, 4, 0)
    with pytest.raises(BadPlaylistRequest):
        part_available(text, 5, 0)


def test_wait_for_part_wakes_when_the_part_arrives() -> None:
    playlist = live_playlist()

    async def go() -> str:
        async def produce() -> None:
            await asyncio.sleep(0.2)
            playlist.add_part(Part("part3.1.m4s", 0.5, False), "part3.2.m4s")

        async def load() -> str:
            return playlist.render()

        producer = asyncio.create_task(produce())
        text = await wait_for_part(load, 3, 1, timeout_s=2)
        await producer
        return text

    assert 'URI="part3.1.m4s"' in asyncio.run(go())
    with pytest.raises(PlaylistTimeout):
        asyncio.run(wait_for_part(playlist.render, 3, 2, timeout_s=0.1))
    with pytest.raises(BadPlaylistRequest):
        asyncio.run(wait_for_part(playlist.render, None, 1, timeout_s=0.1))
    assert asyncio.run(wait_for_part(lambda: "x", None, None, timeout_s=0)) == "x"


def test_next_part_is_the_one_the_preload_hint_names() -> None:
    playlist = live_playlist()
    text = playlist.render()
    assert next_part(text) == (3, 1) and 'PRELOAD-HINT:TYPE=PART,URI="part3.1.m4s"' in text
    assert part_target_of(text) == 0.5
    for i in range(1, 4):
        playlist.add_part(Part(f"part3.{i}.m4s", 0.5, False), None)
    playlist.close_segment("seg3.m4s", 2.0)
    assert next_part(playlist.render()) == (4, 0)  # the next segment's first part
    playlist.ended = True
    assert next_part(playlist.render()) is None
    assert next_part("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:4\n#EXTINF:2.0,\nseg4.m4s\n") is None  # no parts


def test_a_plain_playlist_request_is_answered_with_the_part_being_built() -> None:
    """A tuning-in player gets the playlist once the part being built is listed: its start
    position, PART-HOLD-BACK behind that edge, is then not a part further behind live."""
    playlist = live_playlist()

    async def tune_in() -> tuple[str | None, float]:
        async def produce() -> None:
            await asyncio.sleep(0.3)
            playlist.add_part(Part("part3.1.m4s", 0.5, False), "part3.2.m4s")

        producer = asyncio.create_task(produce())
        started = asyncio.get_running_loop().time()
        text = await wait_for_next_part(playlist.render)
        waited = asyncio.get_running_loop().time() - started
        await producer
        return text, waited

    text, waited = asyncio.run(tune_in())
    assert text is not None and 'URI="part3.1.m4s"' in text.split("PRELOAD-HINT")[0]
    assert 0.25 <= waited < 0.9
    # No part within two part targets (a publisher that paused): the playlist as it is, after 1 s.
    started = time.monotonic()
    assert asyncio.run(wait_for_next_part(playlist.render)) == playlist.render()
    assert 0.9 <= time.monotonic() - started < 2.0
    playlist.ended = True
    started = time.monotonic()
    assert asyncio.run(wait_for_next_part(playlist.render)) == playlist.render()
    assert time.monotonic() - started < 0.5  # an ended playlist at once
    assert asyncio.run(wait_for_next_part(lambda: None)) is None  # not live yet


def read_tags(path: Path) -> list[tuple[int, int, bytes]]:
    data = path.read_bytes()
    assert data[:3] == b"FLV" and data[5:9] == b"\x00\x00\x00\x09"
    tags, offset = [], 13
    while offset < len(data):
        kind, size = data[offset], int.from_bytes(data[offset + 1 : offset + 4], "big")
        ts = int.from_bytes(data[offset + 4 : offset + 7], "big") | data[offset + 7] << 24
        tags.append((kind, ts, data[offset + 11 : offset + 11 + size]))
        assert struct.unpack(">I", data[offset + 11 + size : offset + 15 + size])[0] == 11 + size
        offset += 15 + size
    return tags


@pytest.mark.parametrize("codec", ["h264", "hevc", "av1"])
def test_recorder_tags_round_trip_through_the_ingest_parser(tmp_path: Path, codec: str) -> None:
    recorder = FlvRecorder(tmp_path / "rec.flv")
    recorder.set_metadata({"width": 640.0, "height": 360.0, "duration": 99.0, "private": "x"})
    cts = 0 if codec == "av1" else 40
    sent = [
        VideoFrame(1000, 0, True, codec, b"config", True),
        VideoFrame(1000, cts, True, codec, b"key", False),
        VideoFrame(1040, cts, False, codec, b"delta", False),
    ]
    audio = [AudioFrame(1000, "aac", b"\x12\x10", True), AudioFrame(1023, "aac", b"raw", False)]
    for frame in sent:
        recorder.write_video(frame)
    for frame in audio:
        recorder.write_audio(frame)
    recorder.write_audio(AudioFrame(1100, "opus", b"x", False))
    recorder.close()
    (script, *media) = read_tags(tmp_path / "rec.flv")
    name, offset = decode_one(script[2])
    meta, _ = decode_one(script[2], offset)
    assert name == "onMetaData" and meta == {"width": 640.0, "height": 360.0, "duration": 0.04}
    videos = [parse_video(body, ts) for kind, ts, body in media if kind == 9]
    audios = [parse_audio(body, ts) for kind, ts, body in media if kind == 8]
    rebased = [VideoFrame(f.ts_ms - 1000, f.cts_ms, f.keyframe, f.codec, f.data, f.is_config) for f in sent]
    assert videos == rebased
    assert audios == [AudioFrame(0, "aac", b"\x12\x10", True), AudioFrame(23, "aac", b"raw", False)]
    assert recorder.duration_s == 0.04


def test_recorder_without_frames_writes_nothing(tmp_path: Path) -> None:
    recorder = FlvRecorder(tmp_path / "none.flv")
    recorder.close()
    assert not (tmp_path / "none.flv").exists()


def test_part_position() -> None:
    assert part_position("part12.3.m4s") == (12, 3)
    assert part_position("https://cdn/x/part0.0.m4s") == (0, 0)
    assert part_position("seg1.m4s") is None and part_position("partA.1.m4s") is None


def test_live_sink_writes_in_order_and_removes_what_left_the_window(tmp_path: Path) -> None:
    written: list[str] = []
    removed: list[str] = []
    write = local_writer(tmp_path / "hls")

    def recording_write(name: str, data: bytes) -> None:
        write(name, data)
        written.append(name)

    sink = LiveSink(recording_write, tmp_path / "rec.flv", LiveSettings(window_segments=2), removed.append)
    avcc = bytes([1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 1, 0x67, 1, 0, 1, 0x68])

    async def feed() -> None:
        await sink.on_metadata({"width": 64.0, "height": 48.0})
        await sink.on_video(VideoFrame(0, 0, True, "h264", avcc, True))
        for i in range(200):  # 8 s at 25 fps, a keyframe every second
            await sink.on_video(VideoFrame(i * 40, 0, i % 25 == 0, "h264", b"\x00\x00\x00\x01\x65", False))
        await sink.on_close()
        await sink.on_close()

    asyncio.run(feed())
    assert sink.closed and written[0] == "init.mp4" and written[-1] == "index.m3u8"
    assert written.count("init.mp4") == 1 and written.count("master.m3u8") == 1
    assert {"seg0.m4s", "part0.0.m4s", "seg1.m4s", "part1.4.m4s"} <= set(removed)
    assert "seg2.m4s" not in removed and "#EXT-X-ENDLIST" in (sink.playlist or "")
    assert sorted(p.name for p in (tmp_path / "hls").iterdir() if p.name.startswith(".")) == []
    assert sink.recorder.duration_s == 7.96


def test_local_live_sinks_prune_files_that_left_the_window(tmp_path: Path) -> None:
    sinks = LocalLiveSinks(tmp_path, LiveSettings(window_segments=1))
    sink = sinks(StreamGrant("abc"))
    avcc = bytes([1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 1, 0x67, 1, 0, 1, 0x68])

    async def feed() -> None:
        await sink.on_video(VideoFrame(0, 0, True, "h264", avcc, True))
        for i in range(150):  # 6 s, a keyframe every second: segments end at 2, 4 and 6 s
            await sink.on_video(VideoFrame(i * 40, 0, i % 25 == 0, "h264", b"\x00\x00\x00\x01\x65", False))
        await sink.on_close()

    asyncio.run(feed())
    hls = tmp_path / "abc" / "hls"
    assert sinks.sinks == {"abc": sink}
    assert not (hls / "seg0.m4s").exists() and not (hls / "part1.0.m4s").exists()
    assert (hls / "seg2.m4s").exists() and (hls / "init.mp4").exists()
    assert (tmp_path / "abc" / "recording.flv").stat().st_size > 150 * 16
