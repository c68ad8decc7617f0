"""Chunked mode: runs encoded separately (in any order) equal the single pass, segment for segment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import m3u8
import pytest
from support.reads import CountingFile

from pipelines.chunked import Run, plan_runs, transcode_audio, transcode_run, use_chunked, write_manifests
from pipelines.errors import IncompleteOutput
from pipelines.ladder import LadderConfig, build_ladder
from pipelines.media import MediaInfo, VideoInfo
from pipelines.packaging.cmaf import Segment
from pipelines.probe import probe
from pipelines.transcode import transcode

MakeClip = Callable[..., Path]


def _info(duration: float) -> MediaInfo:
    video = VideoInfo("h264", 320, 240, 320, 240, (1, 1), 0, 30.0, False, False, "yuv420p", 0)
    return MediaInfo("x.mp4", "mp4", 1, duration, video, None)


def test_plan_runs_covers_every_segment_once() -> None:
    assert plan_runs(_info(10.0), 2.0, 2) == [
        Run(0, 1, 2, 0.0, 4.0),
        Run(1, 3, 4, 4.0, 8.0),
        Run(2, 5, 5, 8.0, 10.0),
    ]
    assert plan_runs(_info(9.5), 4.0, 10) == [Run(0, 1, 3, 0.0, 9.5)]
    with pytest.raises(ValueError):
        plan_runs(_info(10.0), 2.0, 0)
    assert use_chunked(_info(3600.0)) and not use_chunked(_info(60.0))


def _joined(paths: list[Path], target: Path) -> list[av.VideoFrame]:
    target.write_bytes(b"".join(p.read_bytes() for p in paths))
    with av.open(str(target)) as container:
        return [f for f in container.decode(video=0)]


def test_chunked_runs_match_the_single_pass(make_clip: MakeClip, tmp_path: Path) -> None:
    src = make_clip("chunky.mp4", size="640x360", duration=5.0, rate=30, out_args=["-g", "30"])
    info = probe(src)
    ladder = build_ladder(info, LadderConfig(preset="ultrafast"))
    single = transcode(src, tmp_path / "single", ladder, segment_duration=1.0)
    runs = plan_runs(info, 1.0, 2)
    assert [(r.first_segment, r.last_segment) for r in runs] == [(1, 2), (3, 4), (5, 5)]
    chunked_dir = tmp_path / "chunked"
    for run in reversed(runs):
        seen: list[float] = []
        written = transcode_run(src, chunked_dir, ladder, run, 1.0, info=info, progress=seen.append)
        assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 3
        assert sorted(written) == ["240p", "360p"]
        assert [s.number for s in written["360p"]] == list(range(run.first_segment, run.last_segment + 1))
    with pytest.raises(IncompleteOutput):
        write_manifests(chunked_dir, ladder, info, 1.0)
    audio_segments = transcode_audio(src, chunked_dir, segment_duration=1.0, info=info)
    assert len(audio_segments) == 5
    chunked = write_manifests(chunked_dir, ladder, info, 1.0)
    for ours, theirs in zip(chunked.renditions, single.renditions, strict=True):
        assert ours.name == theirs.name and ours.frames == theirs.frames == 150
        assert [(s.number, s.start, s.duration, s.samples) for s in ours.segments] == [
            (s.number, s.start, s.duration, s.samples) for s in theirs.segments
        ]
        frames = _joined([ours.init, *(s.path for s in ours.segments)], tmp_path / f"{ours.name}.mp4")
        assert len(frames) == 150
        assert [i for i, f in enumerate(frames) if f.key_frame] == [0, 30, 60, 90, 120]
        assert [f.time for f in frames] == pytest.approx([i / 30 for i in range(150)], abs=1e-6)
    assert chunked.audio is not None and single.audio is not None
    assert chunked.audio.segment_durations == single.audio.segment_durations
    master = m3u8.load(str(chunked.master))
    assert [p.uri for p in master.playlists] == ["360p/playlist.m3u8", "240p/playlist.m3u8"]
    assert chunked.files[-2:] == [chunked_dir / "master.m3u8", chunked_dir / "manifest.mpd"]
    assert not any(p.name.startswith(".") for p in chunked_dir.rglob("*"))


def _shape(written: dict[str, list[Segment]]) -> dict[str, list[tuple[object, ...]]]:
    """Each rung's segments by name, times and sample count (x264's frame threads do not encode
    twice to the same bytes)."""
    return {
        rung: [(s.path.name, s.number, s.start, s.duration, s.decode_time, s.ticks, s.samples) for s in found]
        for rung, found in written.items()
    }


def test_a_run_reads_only_its_part_of_a_file_object(make_clip: MakeClip, tmp_path: Path) -> None:
    """The same segments as from the path, from about the run's share of the input's bytes."""
    src = make_clip("long-gop1.mp4", size="320x240", duration=20.0, rate=30, out_args=["-g", "30"])
    info = probe(src)
    ladder = build_ladder(info, LadderConfig(preset="ultrafast"))
    run = plan_runs(info, 2.0, 2)[2]
    assert (run.start, run.end) == (8.0, 12.0)

    expected = _shape(transcode_run(src, tmp_path / "path", ladder, run, 2.0, info=info))
    assert [n for n, *_ in expected["240p"]] == ["seg_00005.m4s", "seg_00006.m4s"]
    with CountingFile(src) as file:
        assert _shape(transcode_run(file, tmp_path / "file", ladder, run, 2.0, info=info)) == expected
        again = transcode_run(file, tmp_path / "again", ladder, run, 2.0, info=info)  # a file is rewound
        assert _shape(again) == expected
    # 4 s of 20, a second of lookahead, at most a GOP before the start and the header, twice
    assert file.bytes_read < 2 * 0.4 * file.size
    with CountingFile(src) as file, pytest.raises(TypeError):
        transcode_run(file, tmp_path / "x", ladder, run, 2.0)


class _Unreachable(Exception):
    """What a file object over an unreachable store raises."""


class _FailingFile(CountingFile):
    """Fails to read the media of the input's 17th to 19th seconds (of 20)."""

    def readinto(self, buffer: Any) -> int:
        if 0.85 * self.size <= self.tell() < 0.95 * self.size:
            raise _Unreachable("the store went away")
        return super().readinto(buffer)


def test_a_failing_read_is_not_taken_for_damaged_media(make_clip: MakeClip, tmp_path: Path) -> None:
    """The reader's own error comes out, not CorruptMedia and not a quietly shorter output."""
    src = make_clip("long-gop1.mp4", size="320x240", duration=20.0, rate=30, out_args=["-g", "30"])
    info = probe(src)
    ladder = build_ladder(info, LadderConfig(preset="ultrafast"))
    last = plan_runs(info, 2.0, 2)[-1]
    with _FailingFile(src) as file, pytest.raises(_Unreachable):
        transcode_run(file, tmp_path, ladder, last, 2.0, info=info)
    with _FailingFile(src) as file, pytest.raises(_Unreachable):
        transcode_audio(file, tmp_path, segment_duration=2.0, info=info)
