"""build_ladder(): never upscale, even sizes, display aspect kept, frame rate capped."""

from __future__ import annotations

from fractions import Fraction

import av
import av.error
import pytest

from pipelines.ladder import LadderConfig, build_ladder, fps_fraction, pick_h264_encoder
from pipelines.media import AudioInfo, MediaInfo, VideoInfo


def _info(
    width: int, height: int, fps: float = 30.0, sar: tuple[int, int] = (1, 1), rotation: int = 0
) -> MediaInfo:
    display_w, display_h = round(width * sar[0] / sar[1]), height
    if rotation in (90, 270):
        display_w, display_h = display_h, display_w
    video = VideoInfo(
        "h264", width, height, display_w, display_h, sar, rotation, fps, False, False, "yuv420p", 0
    )
    return MediaInfo("x.mp4", "mp4", 1, 10.0, video, None)


def _shape(info: MediaInfo, config: LadderConfig | None = None) -> list[tuple[str, int, int, float]]:
    return [(r.name, r.width, r.height, r.fps) for r in build_ladder(info, config)]


def test_full_hd_gets_the_standard_rungs_below_it() -> None:
    assert _shape(_info(1920, 1080)) == [
        ("1080p", 1920, 1080, 30.0),
        ("720p", 1280, 720, 30.0),
        ("480p", 854, 480, 30.0),
        ("360p", 640, 360, 30.0),
        ("240p", 426, 240, 30.0),
    ]
    rungs = build_ladder(_info(1920, 1080))
    assert [r.video_bitrate for r in rungs] == [5_000_000, 2_800_000, 1_401_000, 800_000, 399_000]
    assert {(r.codec, r.encoder, r.audio_bitrate) for r in rungs} == {("h264", "libx264", 128_000)}


def test_source_between_rungs_is_the_top_rung_and_never_upscaled() -> None:
    assert _shape(_info(1280, 544)) == [
        ("544p", 1280, 544, 30.0),
        ("480p", 1130, 480, 30.0),
        ("360p", 848, 360, 30.0),
        ("240p", 564, 240, 30.0),
    ]
    assert _shape(_info(160, 120)) == [("120p", 160, 120, 30.0)]


def test_odd_sizes_become_even_without_growing() -> None:
    assert _shape(_info(321, 241)) == [("240p", 320, 240, 30.0)]
    for rung in build_ladder(_info(1279, 719)):
        assert rung.width % 2 == 0 and rung.height % 2 == 0
        assert rung.width <= 1279 and rung.height <= 719


def test_rotation_and_non_square_pixels_keep_the_display_shape() -> None:
    portrait = _shape(_info(1920, 1080, rotation=90))
    assert portrait[0] == ("1080p", 1080, 1920, 30.0)
    assert portrait[1] == ("720p", 720, 1280, 30.0)
    anamorphic = _shape(_info(720, 480, fps=29.97, sar=(8, 9)))
    assert anamorphic == [("480p", 640, 480, 29.97), ("360p", 480, 360, 29.97), ("240p", 320, 240, 29.97)]


def test_frame_rate_caps_use_integer_divisors() -> None:
    rungs = build_ladder(_info(1920, 1080, fps=120))
    assert [(r.name, r.fps) for r in rungs[:3]] == [("1080p60", 60.0), ("720p60", 60.0), ("480p", 30.0)]
    assert rungs[0].video_bitrate == 7_500_000
    ntsc = build_ladder(_info(1280, 720, fps=59.94), LadderConfig(max_fps=30))
    assert {r.fps for r in ntsc} == {29.97}
    assert fps_fraction(29.97).denominator == 1001


def test_other_codecs_and_audio_only() -> None:
    hevc = build_ladder(_info(1920, 1080), LadderConfig(codec="hevc"))
    assert (hevc[0].encoder, hevc[0].video_bitrate) == ("libx265", 3_250_000)
    assert (
        build_ladder(MediaInfo("a.m4a", "mp4", 1, 5.0, None, AudioInfo("aac", 2, "stereo", 48000, 0))) == []
    )
    with pytest.raises(ValueError, match="codec must be one of"):
        LadderConfig(codec="vp9")


def test_pick_h264_encoder_only_returns_what_opens() -> None:
    try:
        ctx = av.CodecContext.create("h264_nvenc", "w")
        ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = 256, 144, "yuv420p", Fraction(1, 30)
        ctx.open()
        opens = True
    except (av.error.FFmpegError, ValueError, OSError):
        opens = False
    assert pick_h264_encoder() == ("h264_nvenc" if opens else "libx264")


def test_transcode_refuses_ladders_that_collide_or_cannot_encode() -> None:
    from dataclasses import replace

    from pipelines.transcode import check_ladder

    rungs = build_ladder(_info(1280, 720))
    check_ladder(rungs)
    with pytest.raises(ValueError, match="unique"):
        check_ladder([rungs[0], rungs[0]])
    with pytest.raises(ValueError, match="unique"):
        check_ladder([replace(rungs[0], name="audio")])
    with pytest.raises(ValueError, match="even"):
        check_ladder([replace(rungs[0], width=1279)])
