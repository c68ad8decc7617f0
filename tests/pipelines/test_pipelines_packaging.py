"""CMAF fragment round trips, codec strings and the HLS/DASH writers on synthetic renditions."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import m3u8
import pytest

from pipelines.live.tracks import audio_track, video_track
from pipelines.packaging.boxes import box, full_box, iter_boxes
from pipelines.packaging.cmaf import Segment
from pipelines.packaging.codecs import codec_string
from pipelines.packaging.dash import write_mpd
from pipelines.packaging.fragment_writer import encode_fragment, fragment
from pipelines.packaging.fragments import read_track, read_track_fragments
from pipelines.packaging.hls import write_master_playlist, write_media_playlist
from pipelines.packaging.init_segments import init_segment, with_edit_list
from pipelines.packaging.tracks import DELTA_FLAGS, KEY_FLAGS, NON_SYNC, Sample, Track
from pipelines.renditions import Rendition

NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}


def _track(entry: bytes, config: bytes) -> Track:
    fields = 78 if entry != b"mp4a" else 28  # a VisualSampleEntry's or an AudioSampleEntry's
    handler = b"vide" if entry != b"mp4a" else b"soun"
    return Track(track_id=1, timescale=90000, handler=handler, sample_entry=box(entry, bytes(fields), config))


def test_fragment_round_trip_keeps_every_sample_field(tmp_path: Path) -> None:
    samples = [
        Sample(3000, 1500, 0x02000000, 0, b"key"),
        Sample(4500, 1500, NON_SYNC, -1500, b"delta-1"),
        Sample(6000, 1499, NON_SYNC, 3000, b"delta-two"),
    ]
    data = encode_fragment(7, 1, samples)
    segment = tmp_path / "seg.m4s"
    segment.write_bytes(data)
    with segment.open("rb") as handle:
        assert [b.kind for b in iter_boxes(handle)] == [b"styp", b"moof", b"mdat"]
    _, back = read_track_fragments(segment, _track(b"avc1", b""))
    assert back == samples
    assert back[0].is_sync and not back[1].is_sync
    assert struct.unpack_from(">I", data, data.index(b"mfhd") + 8)[0] == 7


def test_live_tracks_and_parts_read_back_as_vod_reads_its_work_files(tmp_path: Path) -> None:
    avcc = bytes([1, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0, 4]) + b"\x67SPS" + bytes([1, 0, 2]) + b"\x68P"
    video, audio = video_track(1, "h264", avcc, 640, 360), audio_track(2, bytes([0x11, 0x90]))
    assert (video.kind, video.width, video.height, video.entry_type) == ("video", 640, 360, b"avc1")
    assert video.codec_config == box(b"avcC", avcc) and codec_string(video) == "avc1.64001f"
    assert (audio.kind, audio.channels, audio.timescale) == ("audio", 2, 48000)
    assert codec_string(audio) == audio.codec_string == "mp4a.40.2"
    pictures = [Sample(0, 3600, KEY_FLAGS, 7200, b"key"), Sample(3600, 3600, DELTA_FLAGS, -3600, b"b")]
    sounds = [Sample(1024 * i, 1024, KEY_FLAGS, 0, bytes([i]) * 9) for i in range(3)]
    path = tmp_path / "live.mp4"
    path.write_bytes(init_segment([video]) + fragment(1, [(1, pictures), (2, [])]))
    track, samples = read_track(path)
    assert (track.track_id, track.timescale, track.handler) == (1, 90000, b"vide")
    assert (track.sample_entry, track.codec_string) == (video.sample_entry, "avc1.64001f")
    assert list(samples) == pictures
    path.write_bytes(init_segment([audio]) + fragment(2, [(2, sounds)]))
    track, samples = read_track(path)
    assert (track.sample_entry, track.timescale, list(samples)) == (audio.sample_entry, 48000, sounds)
    with pytest.raises(ValueError):
        fragment(3, [(1, [])])


def test_edit_list_is_inserted_after_tkhd(tmp_path: Path) -> None:
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIII", 0, 0, 48000, 0), b"\0" * 4)
    hdlr = full_box(b"hdlr", 0, 0, b"\0" * 4, b"soun", b"\0" * 13)
    entry = box(b"mp4a", b"\0" * 28)
    stsd = full_box(b"stsd", 0, 0, struct.pack(">I", 1), entry)
    stbl = box(b"stbl", stsd)
    tkhd = full_box(b"tkhd", 0, 3, struct.pack(">III", 0, 0, 2), b"\0" * 68)
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", stbl)))
    init = box(b"ftyp", b"iso6", b"\0\0\0\0") + box(b"moov", trak)
    patched = tmp_path / "init.mp4"
    patched.write_bytes(with_edit_list(init, 1024))
    track, samples = read_track(patched)
    assert (track.track_id, track.timescale, track.handler, list(samples)) == (2, 48000, b"soun", [])
    elst = patched.read_bytes()
    position = elst.index(b"elst")
    assert elst.index(b"tkhd") < elst.index(b"edts") < position
    assert struct.unpack_from(">Ii", elst, position + 8 + 4)[1] == 1024


@pytest.mark.parametrize(
    ("entry", "config", "expected"),
    [
        (b"avc1", box(b"avcC", bytes([1, 0x64, 0x00, 0x1F, 0xFF])), "avc1.64001f"),
        (b"av01", box(b"av1C", bytes([0x81, 0x08, 0x0C, 0x00])), "av01.0.08M.08"),
        (
            b"mp4a",
            box(
                b"esds",
                b"\0\0\0\0"
                + bytes([3, 25, 0, 1, 0, 4, 17, 0x40, 0x15])
                + b"\0" * 11
                + bytes([5, 2, 0x12, 0x10]),
            ),
            "mp4a.40.2",
        ),
        (
            b"mp4a",
            box(
                b"esds",
                b"\0\0\0\0"
                + bytes([3, 25, 0, 1, 0, 4, 17, 0x40, 0x15])
                + b"\0" * 11
                + bytes([5, 2, 0x2B, 0x10]),
            ),
            "mp4a.40.5",
        ),
    ],
)
def test_codec_strings(entry: bytes, config: bytes, expected: str) -> None:
    assert codec_string(_track(entry, config)) == expected


def _rendition(folder: Path, name: str, durations: list[float], kind: str = "video") -> Rendition:
    segments, start = [], 0.0
    for number, duration in enumerate(durations, start=1):
        ticks = round(duration * 90000)
        segments.append(
            Segment(
                number,
                folder / name / f"seg_{number:05d}.m4s",
                start,
                duration,
                100_000,
                round(start * 90000),
                ticks,
                1,
            )
        )
        start += duration
    return Rendition(
        name=name,
        kind=kind,
        codec="avc1.64001f" if kind == "video" else "mp4a.40.2",
        bitrate=800_000,
        average_bandwidth=700_000,
        peak_bandwidth=900_000,
        timescale=90000,
        init=folder / name / "init.mp4",
        segments=segments,
        playlist=folder / name / "playlist.m3u8",
        width=640 if kind == "video" else None,
        height=360 if kind == "video" else None,
        fps=29.97 if kind == "video" else None,
        sample_rate=None if kind == "video" else 48000,
        channels=None if kind == "video" else 2,
    )


def test_media_playlist_target_duration_rounds_like_the_rfc(tmp_path: Path) -> None:
    rendition = _rendition(tmp_path, "360p", [4.0, 4.4, 2.1])
    (tmp_path / "360p").mkdir()
    playlist = m3u8.load(str(write_media_playlist(rendition)))
    assert playlist.target_duration == 4
    assert [s.duration for s in playlist.segments] == [4.0, 4.4, 2.1]
    longer = _rendition(tmp_path, "360p", [4.5])
    assert m3u8.load(str(write_media_playlist(longer))).target_duration == 5


def test_master_and_mpd_for_synthetic_renditions(tmp_path: Path) -> None:
    video = _rendition(tmp_path, "360p", [2.0, 2.0, 2.0, 1.5])
    audio = _rendition(tmp_path, "audio", [2.0, 2.0, 2.0, 1.5], kind="audio")
    master = m3u8.load(str(write_master_playlist(tmp_path / "master.m3u8", [video], audio)))
    (variant,) = master.playlists
    assert variant.stream_info.bandwidth == 1_800_000
    assert variant.stream_info.average_bandwidth == 1_400_000
    assert variant.stream_info.frame_rate == 29.97
    root = ET.parse(write_mpd(tmp_path / "manifest.mpd", [video], audio, 7.5)).getroot()
    assert root.get("mediaPresentationDuration") == "PT7.500S"
    representation = root.find("d:Period/d:AdaptationSet/d:Representation", NS)
    assert representation is not None and representation.get("frameRate") == "30000/1001"
    timeline = root.findall("d:Period/d:AdaptationSet[@contentType='video']//d:S", NS)
    assert [(s.get("t"), s.get("d"), s.get("r")) for s in timeline] == [
        ("0", "180000", "2"),
        ("540000", "135000", None),
    ]
