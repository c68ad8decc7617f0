"""Thumbnails (black frames skipped, poster chosen) and storyboards (sprites + WebVTT)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image
from support.reads import CountingFile

from pipelines.storyboard import make_storyboard, vtt_timestamp
from pipelines.thumbnails import BLACK_LUMA, make_thumbnails

MakeClip = Callable[..., Path]


@pytest.fixture(scope="module")
def dark_start(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5 s of 320x240 test pattern whose first 2 s are painted black."""
    path = tmp_path_factory.mktemp("dark") / "dark_start.mp4"
    pattern = "testsrc2=size=320x240:rate=25:duration=5,drawbox=color=black:t=fill:enable='lt(t,2)'"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            pattern,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    return path


def test_thumbnails_skip_black_frames(dark_start: Path, tmp_path: Path) -> None:
    result = make_thumbnails(dark_start, tmp_path)
    times = [c.time for c in result.candidates]
    # 10% (0.5 s) stays black until the 30% mark and is dropped; 30% (1.5 s) moves to 2.0 s.
    assert times == pytest.approx([2.0, 2.52, 3.52, 4.52])  # first 25 fps frame at or after each mark
    assert all(c.brightness >= BLACK_LUMA for c in result.candidates)
    assert [c.path.name for c in result.candidates] == [
        "thumb_01.jpg",
        "thumb_02.jpg",
        "thumb_03.jpg",
        "thumb_04.jpg",
    ]
    for candidate in result.candidates:
        with Image.open(candidate.path) as image:
            assert (image.format, image.size) == ("JPEG", (320, 240))
    assert result.poster is not None and result.poster.path.name == "poster.jpg"
    assert result.poster.time in times
    with Image.open(result.poster.path) as poster:
        assert poster.size == (320, 240)
        assert float(np.asarray(poster.convert("L")).mean()) > BLACK_LUMA


def test_thumbnails_of_rotated_and_audio_only(make_clip: MakeClip, tmp_path: Path) -> None:
    rotated = make_thumbnails(
        make_clip("rotated.mp4", duration=2.0, pre_input=["-display_rotation:v:0", "90"]), tmp_path / "r"
    )
    assert rotated.poster is not None and (rotated.poster.width, rotated.poster.height) == (240, 320)
    with Image.open(rotated.poster.path) as image:
        assert image.size == (240, 320)
    silent = make_thumbnails(
        make_clip("song.m4a", size=None, channel_layout="mono", sample_rate=44100), tmp_path / "a"
    )
    assert silent.poster is None and silent.candidates == []


def test_storyboard_sprites_and_vtt(make_clip: MakeClip, tmp_path: Path) -> None:
    board = make_storyboard(make_clip("plain.mp4"), tmp_path, interval=1.5, tile_width=80, columns=2, rows=1)
    assert board is not None
    assert (board.tiles, board.tile_width, board.tile_height) == (3, 80, 60)
    assert [p.name for p in board.sprites] == ["sprite_001.jpg", "sprite_002.jpg"]
    with Image.open(board.sprites[0]) as first, Image.open(board.sprites[1]) as second:
        assert (first.size, second.size) == ((160, 60), (80, 60))
    text = board.vtt.read_text()
    assert text.startswith("WEBVTT\n\n")
    cues = re.findall(r"(\S+) --> (\S+)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)", text)
    assert cues == [
        ("00:00:00.000", "00:00:01.500", "sprite_001.jpg", "0", "0", "80", "60"),
        ("00:00:01.500", "00:00:03.000", "sprite_001.jpg", "80", "0", "80", "60"),
        ("00:00:03.000", "00:00:04.000", "sprite_002.jpg", "0", "0", "80", "60"),
    ]
    assert vtt_timestamp(3723.5) == "01:02:03.500"
    with pytest.raises(ValueError):
        make_storyboard(make_clip("plain.mp4"), tmp_path, interval=0)


def test_stills_from_a_file_object_equal_those_from_the_path(dark_start: Path, tmp_path: Path) -> None:
    from pipelines.probe import probe

    info = probe(dark_start)
    make_thumbnails(dark_start, tmp_path / "path", info)
    make_storyboard(dark_start, tmp_path / "path", info)
    with CountingFile(dark_start) as file:
        make_thumbnails(file, tmp_path / "file", info)
        make_storyboard(file, tmp_path / "file", info)
    written = sorted(p.relative_to(tmp_path / "path") for p in (tmp_path / "path").rglob("*") if p.is_file())
    assert len(written) == 7  # four candidates, the poster, one sprite sheet, the WebVTT
    for relative in written:
        assert (tmp_path / "file" / relative).read_bytes() == (tmp_path / "path" / relative).read_bytes()


def test_stills_ride_along_on_the_transcode_pass(dark_start: Path, tmp_path: Path) -> None:
    from pipelines.ladder import LadderConfig, build_ladder
    from pipelines.probe import probe
    from pipelines.storyboard import StoryboardBuilder
    from pipelines.thumbnails import ThumbnailPicker
    from pipelines.transcode import transcode

    info = probe(dark_start)
    picker = ThumbnailPicker(info, tmp_path / "ride")
    builder = StoryboardBuilder(info, tmp_path / "ride", interval=1.0, tile_width=80)
    transcode(
        dark_start,
        tmp_path / "ride",
        build_ladder(info, LadderConfig(preset="ultrafast")),
        segment_duration=2.0,
        info=info,
        frame_sinks=[picker, builder],
    )
    riding, board = picker.finish(), builder.finish()
    alone = make_thumbnails(dark_start, tmp_path / "alone", info)
    alone_board = make_storyboard(dark_start, tmp_path / "alone", info, interval=1.0, tile_width=80)
    assert alone_board is not None
    assert [c.time for c in riding.candidates] == [c.time for c in alone.candidates]
    assert riding.poster is not None and alone.poster is not None
    assert riding.poster.path.read_bytes() == alone.poster.path.read_bytes()
    assert board.tiles == alone_board.tiles == 5
    assert board.vtt.read_text() == alone_board.vtt.read_text()
    assert [p.read_bytes() for p in board.sprites] == [p.read_bytes() for p in alone_board.sprites]
