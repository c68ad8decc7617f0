"""transcode(): one decoding pass to CMAF renditions with HLS and DASH, checked frame by frame."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import av
import m3u8
import numpy as np
import pytest

from pipelines.errors import CorruptMedia, NotMedia
from pipelines.ladder import LadderConfig, build_ladder
from pipelines.manifests import publish_order
from pipelines.probe import probe
from pipelines.renditions import Rendition, TranscodeResult
from pipelines.transcode import transcode

MakeClip = Callable[..., Path]
NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}
FAST = LadderConfig(preset="ultrafast")


def _run(src: Path, out: Path, segment_duration: float = 2.0, **kwargs: object) -> TranscodeResult:
    info = probe(src)
    return transcode(src, out, build_ladder(info, FAST), segment_duration=segment_duration, **kwargs)  # type: ignore[arg-type]


def _decode(paths: list[Path], tmp: Path) -> list[av.VideoFrame | av.AudioFrame]:
    joined = tmp / f"joined_{paths[1].parent.name}_{paths[1].stem}.mp4"
    joined.write_bytes(b"".join(p.read_bytes() for p in paths))
    with av.open(str(joined)) as container:
        return list(container.decode(container.streams[0]))


def _all(rendition: Rendition) -> list[Path]:
    return [rendition.init, *(s.path for s in rendition.segments)]


@pytest.fixture(scope="module")
def abr(make_clip: MakeClip, tmp_path_factory: pytest.TempPathFactory) -> TranscodeResult:
    src = make_clip("abr_640x360.mp4", size="640x360", duration=6.0)
    return _run(src, tmp_path_factory.mktemp("abr"), 2.0)


def test_every_rung_has_exact_frames_and_segments(abr: TranscodeResult, tmp_path: Path) -> None:
    assert [(r.name, r.width, r.height, r.fps) for r in abr.renditions] == [
        ("360p", 640, 360, 30.0),
        ("240p", 426, 240, 30.0),
    ]
    for rendition in abr.renditions:
        assert rendition.frames == 180
        assert rendition.segment_durations == [2.0, 2.0, 2.0]
        assert [s.samples for s in rendition.segments] == [60, 60, 60]
        assert rendition.codec.startswith("avc1.")
        frames = _decode(_all(rendition), tmp_path)
        assert len(frames) == 180
        assert [i for i, f in enumerate(frames) if f.key_frame] == [0, 60, 120]
        assert {(f.width, f.height) for f in frames if isinstance(f, av.VideoFrame)} == {
            (rendition.width, rendition.height)
        }
        times = [f.time for f in frames]
        assert times == pytest.approx([i / 30 for i in range(180)], abs=1e-6)
    starts = {tuple(s.start for s in r.segments) for r in abr.renditions}
    assert starts == {(0.0, 2.0, 4.0)}
    assert abr.duration == pytest.approx(6.0)


def test_each_segment_decodes_alone_after_its_init(abr: TranscodeResult, tmp_path: Path) -> None:
    for rendition in [*abr.renditions, abr.audio]:
        assert rendition is not None
        for segment in rendition.segments:
            frames = _decode([rendition.init, segment.path], tmp_path)
            assert len(frames) >= segment.samples - 1
            assert frames[0].time == pytest.approx(segment.start, abs=0.03)
            if rendition.kind == "video":
                assert len(frames) == segment.samples and frames[0].key_frame


def test_audio_is_stereo_aac_covering_the_video(abr: TranscodeResult, tmp_path: Path) -> None:
    audio = abr.audio
    assert audio is not None
    assert (audio.codec, audio.channels, audio.sample_rate) == ("mp4a.40.2", 2, 48000)
    assert len(audio.segments) == 3
    assert audio.segment_durations[0] == pytest.approx(2.0, abs=0.03)
    frames = _decode(_all(audio), tmp_path)
    assert frames[0].time == pytest.approx(0.0, abs=1e-6)
    assert all(isinstance(f, av.AudioFrame) and f.layout.name == "stereo" for f in frames)
    samples = sum(f.samples for f in frames if isinstance(f, av.AudioFrame))
    assert 6.0 <= samples / 48000 < 6.05


def test_hls_playlists(abr: TranscodeResult) -> None:
    master = m3u8.load(str(abr.master))
    assert master.is_variant
    assert len(master.playlists) == 2
    assert [p.stream_info.resolution for p in master.playlists] == [(640, 360), (426, 240)]
    for variant, rendition in zip(master.playlists, abr.renditions, strict=True):
        info = variant.stream_info
        assert info.codecs == f"{rendition.codec},mp4a.40.2"
        assert info.frame_rate == 30.0
        assert info.audio == "audio"
        assert info.bandwidth >= rendition.peak_bandwidth > 0
        assert info.average_bandwidth is not None and info.average_bandwidth < info.bandwidth
    (audio_group,) = master.media
    assert (audio_group.type, audio_group.group_id, audio_group.uri) == (
        "AUDIO",
        "audio",
        "audio/playlist.m3u8",
    )
    text = abr.master.read_text()
    assert "#EXT-X-VERSION:7" in text and "#EXT-X-INDEPENDENT-SEGMENTS" in text
    for rendition in abr.renditions:
        media = m3u8.load(str(rendition.playlist))
        assert media.version == 7 and media.is_endlist and media.is_independent_segments
        assert media.target_duration == 2
        assert media.segment_map[0].uri == "init.mp4"
        assert [s.duration for s in media.segments] == [2.0, 2.0, 2.0]
        assert [s.uri for s in media.segments] == ["seg_00001.m4s", "seg_00002.m4s", "seg_00003.m4s"]


def test_dash_manifest_references_the_same_files(abr: TranscodeResult) -> None:
    root = ET.parse(abr.manifest).getroot()
    assert root.get("type") == "static"
    assert root.get("mediaPresentationDuration") == "PT6.000S"
    video_set, audio_set = root.findall("d:Period/d:AdaptationSet", NS)
    assert (video_set.get("contentType"), audio_set.get("contentType")) == ("video", "audio")
    representations = video_set.findall("d:Representation", NS) + audio_set.findall("d:Representation", NS)
    assert [r.get("id") for r in representations] == ["360p", "240p", "audio"]
    for representation in representations:
        template = representation.find("d:SegmentTemplate", NS)
        assert template is not None
        timescale = int(template.get("timescale", "0"))
        init = abr.manifest.parent / template.get("initialization", "")
        assert init.is_file()
        numbers, total = [], 0
        number = int(template.get("startNumber", "0"))
        for s in template.findall("d:SegmentTimeline/d:S", NS):
            for _ in range(int(s.get("r", "0")) + 1):
                numbers.append(number)
                number += 1
                total += int(s.get("d", "0"))
        media = template.get("media", "")
        for n in numbers:
            assert (abr.manifest.parent / media.replace("$Number%05d$", f"{n:05d}")).is_file()
        assert total / timescale == pytest.approx(6.0, abs=0.05)


def test_summary_is_json_ready(abr: TranscodeResult) -> None:
    import json

    summary = json.loads(json.dumps(abr.summary()))
    assert (
        summary["duration"] == 6.0 and summary["hls"] == "master.m3u8" and summary["dash"] == "manifest.mpd"
    )
    assert [(r["width"], r["height"], r["bitrate"]) for r in summary["renditions"]] == [
        (640, 360, abr.renditions[0].bitrate),
        (426, 240, abr.renditions[1].bitrate),
    ]
    assert all(r["codec"].startswith("avc1.") for r in summary["renditions"])
    assert summary["audio"]["codec"] == "mp4a.40.2" and summary["warnings"] == []


def test_publish_order_puts_manifests_last(abr: TranscodeResult) -> None:
    files = publish_order(abr.master.parent)
    assert files == abr.files
    names = [p.name for p in files]
    assert names[-2:] == ["master.m3u8", "manifest.mpd"]
    first_playlist = names.index("playlist.m3u8")
    assert all(n.endswith((".m4s", ".mp4")) for n in names[:first_playlist])
    assert names[first_playlist:-2] == ["playlist.m3u8"] * 3
    assert len(files) == 3 * (1 + 3 + 1) + 2
    assert not any(p.name.startswith(".") for p in abr.master.parent.rglob("*"))


def test_last_segment_is_the_remainder_and_rerun_overwrites(make_clip: MakeClip, tmp_path: Path) -> None:
    src = make_clip("five_seconds.mp4", duration=5.0, rate=24)
    first = _run(src, tmp_path, 2.0)
    assert first.renditions[0].segment_durations == [2.0, 2.0, 1.0]
    assert first.renditions[0].frames == 120
    assert [s.samples for s in first.renditions[0].segments] == [48, 48, 24]
    second = _run(src, tmp_path, 4.0)
    assert second.renditions[0].segment_durations == [4.0, 1.0]
    assert sorted(p.name for p in (tmp_path / "240p").glob("seg_*")) == ["seg_00001.m4s", "seg_00002.m4s"]
    assert sorted(p.name for p in (tmp_path / "audio").glob("seg_*")) == ["seg_00001.m4s", "seg_00002.m4s"]


def test_audio_only_input(make_clip: MakeClip, tmp_path: Path) -> None:
    result = _run(make_clip("song.m4a", size=None, channel_layout="mono", sample_rate=44100), tmp_path)
    assert result.renditions == [] and result.audio is not None
    assert (result.audio.channels, result.audio.sample_rate) == (2, 44100)
    master = m3u8.load(str(result.master))
    assert [p.uri for p in master.playlists] == ["audio/playlist.m3u8"]
    assert master.playlists[0].stream_info.codecs == "mp4a.40.2"
    sets = ET.parse(result.manifest).getroot().findall("d:Period/d:AdaptationSet", NS)
    assert [s.get("contentType") for s in sets] == ["audio"]
    frames = _decode(_all(result.audio), tmp_path)
    assert {f.layout.name for f in frames if isinstance(f, av.AudioFrame)} == {"stereo"}


def test_video_without_audio_and_surround_downmix(make_clip: MakeClip, tmp_path: Path) -> None:
    silent = _run(make_clip("silent.mp4", audio=False), tmp_path / "silent")
    assert silent.audio is None and len(silent.renditions) == 1
    assert "EXT-X-MEDIA" not in silent.master.read_text()
    assert not (tmp_path / "silent" / "audio").exists()
    surround = _run(make_clip("surround.mp4", channel_layout="5.1"), tmp_path / "surround")
    assert surround.audio is not None and surround.audio.channels == 2
    frames = _decode(_all(surround.audio), tmp_path)
    assert {f.layout.name for f in frames if isinstance(f, av.AudioFrame)} == {"stereo"}


@pytest.mark.parametrize(("degrees", "shape"), [(90, (240, 320)), (180, (320, 240)), (270, (240, 320))])
def test_rotated_input_comes_out_upright(
    make_clip: MakeClip, tmp_path: Path, degrees: int, shape: tuple[int, int]
) -> None:
    """Compared with the ffmpeg CLI's own autorotation of the same frame."""
    import subprocess

    import imageio_ffmpeg

    name = "rotated.mp4" if degrees == 90 else f"rotated{degrees}.mp4"
    src = make_clip(name, duration=2.0, pre_input=["-display_rotation:v:0", str(degrees)])
    result = _run(src, tmp_path / "out")
    (rung,) = result.renditions
    assert (rung.width, rung.height) == shape
    ours = _decode(_all(rung), tmp_path)[10]
    assert isinstance(ours, av.VideoFrame) and (ours.width, ours.height) == shape
    reference = tmp_path / "reference.png"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-i",
            str(src),
            "-vf",
            "select=eq(n\\,10)",
            "-frames:v",
            "1",
            str(reference),
        ],
        check=True,
    )
    with av.open(str(reference)) as container:
        theirs = next(container.decode(video=0)).to_ndarray(format="gray")
    assert theirs.shape == (shape[1], shape[0])
    difference = np.abs(ours.to_ndarray(format="gray").astype(int) - theirs.astype(int)).mean()
    assert difference < 12


def test_non_square_pixels_vfr_and_interlaced(make_clip: MakeClip, tmp_path: Path) -> None:
    wide = _run(make_clip("anamorphic.mp4", audio=False, duration=2.0, vfilter="setsar=2/1"), tmp_path / "a")
    assert [(r.width, r.height) for r in wide.renditions] == [(640, 240)]
    vfr_src = make_clip(
        "vfr_input.mp4",
        audio=False,
        duration=3.0,
        vfilter="select='lt(mod(n\\,5)\\,3)'",
        out_args=["-fps_mode", "vfr"],
    )
    vfr_info = probe(vfr_src)
    assert vfr_info.video is not None and vfr_info.video.is_vfr
    vfr = transcode(vfr_src, tmp_path / "v", build_ladder(vfr_info, FAST), segment_duration=1.0)
    (rung,) = vfr.renditions
    frames = _decode(_all(rung), tmp_path)
    assert len(frames) == round(vfr_info.duration * rung.fps) == rung.frames
    gaps = {round(b.time - a.time, 6) for a, b in zip(frames, frames[1:], strict=False)}
    assert gaps == {round(1 / rung.fps, 6)}
    interlaced = _run(
        make_clip(
            "interlaced.mp4",
            audio=False,
            duration=2.0,
            out_args=["-flags", "+ildct+ilme", "-x264-params", "interlaced=1"],
        ),
        tmp_path / "i",
    )
    assert interlaced.renditions[0].frames == 60


def test_high_frame_rate_small_rungs_are_halved(make_clip: MakeClip, tmp_path: Path) -> None:
    result = _run(make_clip("sixty.mp4", rate=60, duration=2.0, audio=False), tmp_path)
    (rung,) = result.renditions
    assert (rung.fps, rung.frames, rung.segment_durations) == (30.0, 60, [2.0])


def test_progress_and_bad_input(make_clip: MakeClip, tmp_path: Path) -> None:
    seen: list[float] = []
    _run(make_clip("plain.mp4"), tmp_path / "p", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 5
    text = tmp_path / "movie.mp4"
    text.write_text("not a movie\n" * 20)
    with pytest.raises(NotMedia):
        transcode(text, tmp_path / "t", [])
    assert not (tmp_path / "t").exists()


def test_cut_off_input_is_salvaged(make_clip: MakeClip, tmp_path: Path) -> None:
    data = make_clip("faststart.mp4", duration=6.0, out_args=["-movflags", "+faststart"]).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    result = _run(cut, tmp_path / "out")
    assert result.warnings and "cut off" in result.warnings[0]
    (rung,) = result.renditions
    assert rung.frames is not None and 60 < rung.frames < 150
    assert len(_decode(_all(rung), tmp_path)) == rung.frames


def test_damage_found_while_transcoding_fails_cleanly(make_clip: MakeClip, tmp_path: Path) -> None:
    good = make_clip("faststart.mp4", duration=6.0, out_args=["-movflags", "+faststart"])
    data = bytearray(good.read_bytes())
    size = len(data)
    data[size // 2 : size // 2 + size // 5] = random.Random(1).randbytes(size // 5)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    info = probe(good)  # as if the damage had slipped past the probe's samples
    out = tmp_path / "out"
    with pytest.raises(CorruptMedia, match="damaged around 00:0"):
        transcode(broken, out, build_ladder(info, FAST), segment_duration=2.0, info=info)
    assert [p.name for p in out.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("name", "size", "video_args", "audio_args", "shape", "frames"),
    [
        (
            "vp9_opus.webm",
            "320x240",
            ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"],
            ["-c:a", "libopus"],
            (320, 240),
            60,
        ),
        ("mpegts.ts", "320x240", None, None, (320, 240), 60),
        ("odd_ffv1.mkv", "321x241", ["-c:v", "ffv1"], ["-c:a", "pcm_s16le"], (320, 240), 60),
    ],
)
def test_other_containers_and_odd_sizes(
    make_clip: MakeClip,
    tmp_path: Path,
    name: str,
    size: str,
    video_args: list[str] | None,
    audio_args: list[str] | None,
    shape: tuple[int, int],
    frames: int,
) -> None:
    src = make_clip(name, size=size, duration=2.0, video_args=video_args, audio_args=audio_args)
    result = _run(src, tmp_path)
    (rung,) = result.renditions
    assert ((rung.width, rung.height), rung.frames, rung.segment_durations) == (shape, frames, [2.0])
    decoded = _decode(_all(rung), tmp_path)
    assert len(decoded) == frames
    assert result.audio is not None and result.audio.segment_durations[0] == pytest.approx(2.0, abs=0.05)


def test_upright_deinterlaces_flagged_frames(make_clip: MakeClip) -> None:
    from pipelines.upright import Upright

    src = make_clip(
        "interlaced.mp4",
        audio=False,
        duration=2.0,
        out_args=["-flags", "+ildct+ilme", "-x264-params", "interlaced=1"],
    )
    upright = Upright(rotation=0, deinterlace=True)
    with av.open(str(src)) as container:
        decoded = list(container.decode(video=0))
    assert all(f.interlaced_frame for f in decoded)
    out = [g for f in decoded for g in upright.process(f)] + upright.process(None)
    assert len(out) == len(decoded) == 60
    assert not any(f.interlaced_frame for f in out)
    assert [f.time for f in out] == pytest.approx([f.time for f in decoded])


def test_deinterlaced_output_keeps_frame_timing(make_clip: MakeClip, tmp_path: Path) -> None:
    src = make_clip(
        "interlaced.mp4",
        audio=False,
        duration=2.0,
        out_args=["-flags", "+ildct+ilme", "-x264-params", "interlaced=1"],
    )
    (rung,) = _run(src, tmp_path / "out", 1.0).renditions
    ours = [
        f.to_ndarray(format="gray").astype(int)
        for f in _decode(_all(rung), tmp_path)
        if isinstance(f, av.VideoFrame)
    ]
    with av.open(str(src)) as container:
        source = [f.to_ndarray(format="gray").astype(int) for f in container.decode(video=0)]
    assert len(ours) == len(source) == 60
    for index in (10, 40):
        errors = [float(np.abs(ours[index] - source[j]).mean()) for j in (index - 1, index, index + 1)]
        assert errors[1] == min(errors), errors


@pytest.mark.parametrize("manifest", ["master.m3u8", "manifest.mpd"])
def test_ffmpeg_plays_our_manifests(abr: TranscodeResult, manifest: str) -> None:
    import subprocess

    import imageio_ffmpeg

    path = (abr.master.parent / manifest).resolve()
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0",
        "-f",
        "framecrc",
        "-",
    ]
    lines = subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=60
    ).stdout.splitlines()
    video = [line for line in lines if line.startswith("0,")]
    audio = [line for line in lines if line.startswith("1,")]
    assert len(video) == 180
    assert len(audio) > 250


def _offset_clip(
    make_clip: MakeClip, tmp_path: Path, name: str, video_offset: float, audio_offset: float
) -> Path:
    import subprocess

    import imageio_ffmpeg

    video = make_clip("silent.mp4", audio=False)
    tone = make_clip("tone48.m4a", size=None)
    path = tmp_path / name
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v",
        "error",
        "-itsoffset",
        str(video_offset),
        "-i",
        str(video),
        "-itsoffset",
        str(audio_offset),
        "-i",
        str(tone),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c",
        "copy",
        str(path),
    ]
    subprocess.run(command, check=True)
    return path


def _audio_samples(rendition: Rendition, tmp_path: Path) -> np.ndarray:
    frames = _decode(_all(rendition), tmp_path)
    return np.concatenate([f.to_ndarray()[0] for f in frames if isinstance(f, av.AudioFrame)])


def test_late_audio_is_padded_and_early_audio_trimmed(make_clip: MakeClip, tmp_path: Path) -> None:
    late = _run(_offset_clip(make_clip, tmp_path, "late.mp4", 0.0, 0.5), tmp_path / "late")
    assert late.audio is not None
    samples = _audio_samples(late.audio, tmp_path)
    assert np.abs(samples[: int(0.45 * 48000)]).max() < 0.01
    assert np.abs(samples[int(0.6 * 48000) : int(1.0 * 48000)]).max() > 0.05  # lavfi sine peaks at 1/8
    early = _run(_offset_clip(make_clip, tmp_path, "early.mp4", 0.5, 0.0), tmp_path / "early")
    assert early.audio is not None
    assert len(_audio_samples(early.audio, tmp_path)) / 48000 == pytest.approx(3.5, abs=0.05)


def test_an_encoder_that_cannot_open_is_a_server_error(make_clip: MakeClip, tmp_path: Path) -> None:
    from dataclasses import replace

    from pipelines.errors import EncoderUnavailable
    from pipelines.ladder import pick_h264_encoder

    if pick_h264_encoder() == "h264_nvenc":
        pytest.skip("this machine has a working NVENC; nothing to refuse")
    src = make_clip("plain.mp4")
    info = probe(src)
    ladder = [replace(rung, encoder="h264_nvenc") for rung in build_ladder(info, FAST)]
    with pytest.raises(EncoderUnavailable) as err:
        transcode(src, tmp_path, ladder, info=info)
    assert err.value.status == 500 and err.value.code == "ENCODER_UNAVAILABLE"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_mixed_frame_rates_keep_keyframes_aligned(make_clip: MakeClip, tmp_path: Path) -> None:
    src = make_clip("sixty_360.mp4", size="640x360", rate=60, duration=3.0, audio=False)
    info = probe(src)
    ladder = build_ladder(info, LadderConfig(preset="ultrafast", high_fps_min_size=360))
    assert [(r.name, r.fps) for r in ladder] == [("360p60", 60.0), ("240p", 30.0)]
    result = transcode(src, tmp_path / "out", ladder, segment_duration=1.0, info=info)
    high, low = result.renditions
    assert (high.frames, low.frames) == (180, 90)
    assert [s.start for s in high.segments] == [s.start for s in low.segments] == [0.0, 1.0, 2.0]
    for rendition, per_second in ((high, 60), (low, 30)):
        frames = _decode(_all(rendition), tmp_path)
        keys = [round(f.time, 6) for f in frames if f.key_frame]
        assert keys == [0.0, 1.0, 2.0]
        assert len(frames) == 3 * per_second


@pytest.mark.parametrize(("codec", "prefix"), [("hevc", "hvc1."), ("av1", "av01.")])
def test_hevc_and_av1_ladders(make_clip: MakeClip, tmp_path: Path, codec: str, prefix: str) -> None:
    src = make_clip("short_plain.mp4", duration=2.0, audio=False)
    info = probe(src)
    ladder = build_ladder(
        info, LadderConfig(codec=codec, preset="ultrafast" if codec == "hevc" else "veryfast")
    )
    (rung,) = transcode(src, tmp_path, ladder, segment_duration=1.0, info=info).renditions
    assert rung.codec.startswith(prefix)
    assert (rung.frames, rung.segment_durations) == (60, [1.0, 1.0])
    frames = _decode(_all(rung), tmp_path)
    assert [i for i, f in enumerate(frames) if f.key_frame] == [0, 30]
    assert f'CODECS="{rung.codec}"' in (tmp_path / "master.m3u8").read_text()
