"""probe(): exact properties of good inputs, and one clear MediaError per kind of bad input."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from support.bombs import peak_rss, picture_bomb

from pipelines.errors import (
    CorruptMedia,
    DurationTooLong,
    EmptyFile,
    FileTooLarge,
    FrameRateTooHigh,
    LimitExceeded,
    MediaError,
    NoDecodableStream,
    NotMedia,
    ResolutionTooHigh,
    format_clock,
    format_span,
)
from pipelines.probe import MediaInfo, MediaLimits, probe

MakeClip = Callable[..., Path]


def test_probe_reports_exact_properties_of_a_plain_clip(make_clip: MakeClip) -> None:
    path = make_clip("plain.mp4", duration=4.0)
    info = probe(path)
    assert info.duration == pytest.approx(4.0, abs=0.05)
    assert info.size == path.stat().st_size
    assert "mp4" in info.format_name
    assert info.warnings == []
    assert not info.is_audio_only
    video = info.video
    assert video is not None
    assert (video.codec, video.width, video.height) == ("h264", 320, 240)
    assert (video.display_width, video.display_height, video.rotation) == (320, 240, 0)
    assert (video.fps, video.is_vfr, video.interlaced, video.pix_fmt) == (30.0, False, False, "yuv420p")
    audio = info.audio
    assert audio is not None
    assert (audio.codec, audio.channels, audio.layout, audio.sample_rate) == ("aac", 2, "stereo", 48000)


def test_probe_audio_only(make_clip: MakeClip) -> None:
    info = probe(make_clip("tone.m4a", size=None, channel_layout="mono", sample_rate=44100))
    assert info.is_audio_only and info.video is None
    assert info.audio is not None and (info.audio.channels, info.audio.sample_rate) == (1, 44100)
    assert info.duration == pytest.approx(4.0, abs=0.05)


def test_probe_applies_rotation_and_sample_aspect_ratio(make_clip: MakeClip) -> None:
    rotated = probe(make_clip("rot90.mp4", pre_input=["-display_rotation:v:0", "90"]))
    assert rotated.video is not None
    assert rotated.video.rotation == 90
    assert (rotated.video.display_width, rotated.video.display_height) == (240, 320)
    wide = probe(make_clip("sar2.mp4", audio=False, vfilter="setsar=2/1"))
    assert wide.video is not None and wide.audio is None
    assert wide.video.sample_aspect_ratio == (2, 1)
    assert (wide.video.display_width, wide.video.display_height) == (640, 240)


def test_probe_flags_interlaced_and_variable_frame_rate(make_clip: MakeClip) -> None:
    interlaced = probe(
        make_clip("tff.mp4", audio=False, out_args=["-flags", "+ildct+ilme", "-x264-params", "interlaced=1"])
    )
    assert interlaced.video is not None and interlaced.video.interlaced
    vfr = probe(
        make_clip(
            "vfr.mp4", audio=False, vfilter="select='lt(mod(n\\,5)\\,3)'", out_args=["-fps_mode", "vfr"]
        )
    )
    assert vfr.video is not None and vfr.video.is_vfr


def test_a_probe_survives_a_json_round_trip(make_clip: MakeClip, tmp_path: Path) -> None:
    """What a chunked transcode stores with its jobs comes back equal, field for field."""
    cut = tmp_path / "cut.mp4"
    data = make_clip("faststart.mp4", duration=6.0, out_args=["-movflags", "+faststart"]).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    wide = probe(make_clip("sar2.mp4", audio=False, vfilter="setsar=2/1"))
    tone = probe(make_clip("tone.m4a", size=None, channel_layout="mono", sample_rate=44100))
    for info in (probe(cut), wide, tone):
        assert MediaInfo.from_json(json.loads(json.dumps(info.to_json()))) == info
    assert probe(cut).warnings and wide.video is not None and wide.video.sample_aspect_ratio == (2, 1)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(EmptyFile) as err:
        probe(path)
    assert (err.value.code, err.value.status, str(err.value)) == ("EMPTY_FILE", 422, "The file is empty.")


def test_text_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("shopping list\neggs\nmilk\n" * 50)
    with pytest.raises(NotMedia, match="This file is text"):
        probe(path)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(random.Random(7).randbytes(64_000))
    with pytest.raises(NotMedia) as err:
        probe(path)
    assert err.value.code == "NOT_MEDIA"
    assert str(err.value) == "This file is not a video or audio file we can read."


def test_truncated_tail_is_salvaged_with_a_warning(make_clip: MakeClip, tmp_path: Path) -> None:
    data = make_clip("faststart.mp4", duration=6.0, out_args=["-movflags", "+faststart"]).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    info = probe(cut)
    assert 2.0 < info.duration < 5.0
    assert len(info.warnings) == 1
    assert info.warnings[0].startswith("The file is cut off after 00:0")
    assert info.warnings[0].endswith("we kept what we could read.")


def test_truncated_without_index_is_corrupt(make_clip: MakeClip, tmp_path: Path) -> None:
    data = make_clip("plain.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptMedia, match="looks like an MP4 or MOV video but it is cut off"):
        probe(cut)


def test_truncated_to_almost_nothing_is_corrupt(make_clip: MakeClip, tmp_path: Path) -> None:
    data = make_clip("faststart.mp4", duration=6.0, out_args=["-movflags", "+faststart"]).read_bytes()
    cut = tmp_path / "stub.mp4"
    cut.write_bytes(data[: int(len(data) * 0.08)])
    with pytest.raises(CorruptMedia, match="cut off after 00:00; too little is left"):
        probe(cut)


def test_corrupt_middle(make_clip: MakeClip, tmp_path: Path) -> None:
    clip = make_clip("faststart.mp4", duration=6.0, out_args=["-movflags", "+faststart"])
    data = bytearray(clip.read_bytes())
    size = len(data)
    data[size // 2 : size // 2 + size // 5] = random.Random(1).randbytes(size // 5)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    with pytest.raises(CorruptMedia, match=r"damaged around 00:0\d; it cannot be played from there"):
        probe(broken)


@pytest.mark.parametrize(
    ("limits", "error", "message"),
    [
        (MediaLimits(max_duration=2.0), DurationTooLong, "The video is 4 s long; the limit is 2 s."),
        (
            MediaLimits(max_width=200, max_height=200),
            ResolutionTooHigh,
            "The video is 320x240 pixels; the limit is 200x200.",
        ),
        (MediaLimits(max_fps=25), FrameRateTooHigh, "The video has 30 frames per second; the limit is 25."),
        (MediaLimits(max_bytes=1000), FileTooLarge, None),
    ],
)
def test_limits(
    make_clip: MakeClip, limits: MediaLimits, error: type[MediaError], message: str | None
) -> None:
    with pytest.raises(error) as err:
        probe(make_clip("plain.mp4"), limits)
    assert isinstance(err.value, LimitExceeded) and err.value.status == 422
    if message is not None:
        assert str(err.value) == message


def test_human_formats() -> None:
    assert format_span(3 * 3600 + 20 * 60) == "3 h 20 min"
    assert format_span(7200) == "2 h"
    assert format_span(41.9) == "41 s"
    assert format_clock(41.2) == "00:41"
    assert format_clock(3723) == "1:02:03"


@pytest.mark.parametrize("name", ["still.png", "still.jpg"])
def test_still_pictures_are_not_videos(tmp_path: Path, name: str) -> None:
    import subprocess

    import imageio_ffmpeg

    path = tmp_path / name
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x48",
            "-frames:v",
            "1",
            str(path),
        ],
        check=True,
    )
    with pytest.raises(NotMedia, match="still picture"):
        probe(path)


def test_animated_gif_is_a_short_video(make_clip: MakeClip) -> None:
    info = probe(
        make_clip("anim.gif", size="160x120", rate=10, duration=1.0, audio=False, video_args=["-c:v", "gif"])
    )
    assert info.video is not None and (info.video.codec, info.video.width, info.video.fps) == (
        "gif",
        160,
        10.0,
    )
    assert info.duration == pytest.approx(1.0, abs=0.11)


def test_raw_elementary_stream_is_refused_with_advice(make_clip: MakeClip, tmp_path: Path) -> None:
    import subprocess

    import imageio_ffmpeg

    raw = tmp_path / "camera.h264"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(make_clip("plain.mp4")),
            "-an",
            "-c:v",
            "copy",
            "-bsf:v",
            "h264_mp4toannexb",
            str(raw),
        ],
        check=True,
    )
    with pytest.raises(NoDecodableStream, match="raw stream without timing"):
        probe(raw)


#: Growth of a probing process's peak memory allowed beyond its imports, MiB. Decoding the bomb's
#: picture would need 732 MiB; before the limits came first the probe peaked 737 MiB higher.
PROBE_MEMORY_MIB = 64


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {
        "declared": picture_bomb(folder / "declared.mov"),
        "hidden": picture_bomb(folder / "hidden.mov", declared=(320, 240)),
    }


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        ("declared", ["RESOLUTION_TOO_HIGH", "The video is 16000x16000 pixels; the limit is 7680x7680."]),
        ("hidden", ["NO_DECODABLE_STREAM", "The file has no video or audio track we can play."]),
    ],
)
def test_a_picture_bomb_is_refused_in_bounded_memory(
    bombs: dict[str, Path], name: str, refusal: list[str], tmp_path: Path
) -> None:
    """A 747 KB MOV holding a 16000x16000 PNG, whose header tells the truth or claims 320x240."""
    bomb = bombs[name]
    assert 700_000 < bomb.stat().st_size < 800_000
    answer = peak_rss(
        "from pipelines.errors import MediaError\nfrom pipelines.probe import probe",
        f"try:\n    probe({str(bomb)!r})\n    result = None\n"
        "except MediaError as exc:\n    result = [exc.code, str(exc)]",
        cwd=tmp_path,
    )
    assert answer["result"] == refusal
    assert isinstance(answer["peak_mib"], int) and isinstance(answer["base_mib"], int)
    assert answer["peak_mib"] - answer["base_mib"] < PROBE_MEMORY_MIB, answer


def test_a_rotated_picture_passes_the_header_check_and_is_judged_upright(make_clip: MakeClip) -> None:
    """Headers do not tell the rotation: a coded 320x240 shown 240x320 fits a 240x320 limit."""
    rotated = make_clip("rot90.mp4", pre_input=["-display_rotation:v:0", "90"])
    info = probe(rotated, MediaLimits(max_width=240, max_height=320))
    assert info.video is not None and (info.video.display_width, info.video.display_height) == (240, 320)
    with pytest.raises(ResolutionTooHigh, match="The video is 240x320 pixels; the limit is 320x240."):
        probe(rotated, MediaLimits(max_width=320, max_height=240))


def test_a_declared_frame_rate_or_duration_over_the_limit_is_refused_from_the_headers(
    make_clip: MakeClip,
) -> None:
    from pipelines.declared import check_declared, open_without_decoders, read_declared

    with open_without_decoders(make_clip("plain.mp4")) as container:
        declared = read_declared(container)
    assert (declared.width, declared.height, declared.fps, declared.has_video) == (320, 240, 30.0, True)
    assert declared.duration == pytest.approx(4.0, abs=0.05)
    with pytest.raises(FrameRateTooHigh, match="30 frames per second; the limit is 25"):
        check_declared(declared, MediaLimits(max_fps=25))
    with pytest.raises(DurationTooLong, match="The video is 4 s long; the limit is 2 s."):
        check_declared(declared, MediaLimits(max_duration=2.0))
    check_declared(declared, MediaLimits())


def test_a_bit_rate_estimate_of_an_audio_files_length_is_not_believed(tmp_path: Path) -> None:
    """A VBR MP3 without a Xing header that opens with 3 s of silence: FFmpeg estimates its length
    from the first frame's bit rate, several times too long. The packet survey measures 8 s."""
    import subprocess

    import av
    import imageio_ffmpeg

    path = tmp_path / "quiet-start.mp3"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error",
            "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo:d=3",
            "-f", "lavfi", "-i", "anoisesrc=color=pink:r=44100:d=5",
            "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1",
            "-c:a", "libmp3lame", "-q:a", "0", "-write_xing", "0", str(path),
        ],
        check=True,
    )  # fmt: skip
    with av.open(str(path)) as container:
        assert container.duration is not None and container.duration / 1e6 > 20.0
    info = probe(path, MediaLimits(max_duration=10.0))
    assert info.is_audio_only and info.duration == pytest.approx(8.0, abs=0.1)
    with pytest.raises(DurationTooLong, match="The audio is 8 s long; the limit is 5 s."):
        probe(path, MediaLimits(max_duration=5.0))
