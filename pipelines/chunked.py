"""Chunked mode for long videos: split the video work into runs of whole segments that
separate workers encode in parallel, encode the audio as one job, then write the manifests.

Every run writes exactly the files (names, timestamps, keyframes) the single pass would have
written for its segments: it seeks to the keyframe before its start, decodes forward, drops the
output frames that belong to earlier runs and stamps its segments with their absolute decode
times. Short videos should keep :func:`pipelines.transcode.transcode` (see :func:`use_chunked`).

A run reads its input from the keyframe before its start to a second past its end (plus the
container's header), so a file object that fetches on demand (``storage.BlobReader``) is
asked for about that much: pass the probe as ``info`` with it.
"""

from __future__ import annotations

import math
import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import av

from pipelines.branches import AudioBranch, VideoBranch, frame_window
from pipelines.decoding import decode_frames
from pipelines.errors import IncompleteOutput
from pipelines.ladder import Rung, fps_fraction
from pipelines.manifests import audio_rendition, finish_outputs, video_rendition
from pipelines.media import MediaInfo, MediaInput, MediaLimits
from pipelines.packaging.cmaf import INIT_NAME, Segment, scan_segments, write_segments
from pipelines.probe import known_or_probed
from pipelines.renditions import TranscodeResult
from pipelines.timeline import boundary_frame, segment_count, segment_starts
from pipelines.transcode import DEFAULT_AUDIO_BITRATE, Progress, check_ladder

__all__ = ["Run", "plan_runs", "use_chunked", "transcode_run", "transcode_audio", "write_manifests"]

_LOOKAHEAD = 1.0
"""Seconds decoded past a run's end so every output slot up to it can be decided."""


@dataclass(frozen=True)
class Run:
    """Segments ``first_segment``..``last_segment`` (1-based, inclusive, as in file names)
    covering ``start``..``end`` seconds of the input."""

    index: int
    first_segment: int
    last_segment: int
    start: float
    end: float


def plan_runs(info: MediaInfo, segment_duration: float, segments_per_run: int) -> list[Run]:
    """Cut the video's segments into runs of ``segments_per_run`` (the last run may be shorter)."""
    if segments_per_run < 1:
        raise ValueError("segments_per_run must be at least 1")
    total = segment_count(info.duration, segment_duration)
    runs = []
    for index in range(math.ceil(total / segments_per_run)):
        first = index * segments_per_run + 1
        last = min(first + segments_per_run - 1, total)
        start = (first - 1) * segment_duration
        runs.append(Run(index, first, last, start, min(last * segment_duration, info.duration)))
    return runs


def use_chunked(info: MediaInfo, min_duration: float = 600.0) -> bool:
    """Whether ``info`` is long enough (seconds) to be worth chunked mode."""
    return info.video is not None and info.duration >= min_duration


def transcode_run(
    src: MediaInput,
    out_dir: str | os.PathLike[str],
    ladder: list[Rung],
    run: Run,
    segment_duration: float,
    *,
    info: MediaInfo | None = None,
    limits: MediaLimits | None = None,
    progress: Progress | None = None,
) -> dict[str, list[Segment]]:
    """Encode ``run``'s segments of every rung; returns the segments written per rung name.
    The first run also writes each rung's ``init.mp4``. ``progress`` gets this run's share done
    (0.0 to 1.0). A file object ``src`` needs ``info``."""
    check_ladder(ladder)
    out = Path(out_dir)
    info = known_or_probed(src, info, limits)
    if info.video is None or not ladder:
        return {}
    last_run = run.last_segment >= segment_count(info.duration, segment_duration)
    windows = {
        r.name: frame_window(r, segment_duration, run.first_segment - 1, run.last_segment) for r in ladder
    }
    branch = VideoBranch(info, ladder, out, segment_duration, run=run.index, windows=windows)
    report = _Throttle(progress)
    try:
        with closing(decode_frames(src, info, audio=False, start=run.start)) as frames:
            for time, frame in frames:
                if not last_run and time > run.end + _LOOKAHEAD:
                    break
                if isinstance(frame, av.VideoFrame) and time < info.duration + 1e-3:
                    branch.push(time, frame)
                    if progress is not None and run.end > run.start:
                        report(min(max((time - run.start) / (run.end - run.start), 0.0), 1.0))
        end = min(branch.end, info.duration) if last_run else run.end
        encoders = branch.finish(end)
    except BaseException:
        branch.abort()
        raise
    written: dict[str, list[Segment]] = {}
    for encoder in encoders:
        fps = fps_fraction(encoder.rung.fps)
        first, _ = windows[encoder.rung.name]
        starts = [
            float(boundary_frame(k, fps, segment_duration) / fps)
            for k in range(run.first_segment - 1, run.last_segment)
            if boundary_frame(k, fps, segment_duration) < first + encoder.frames
        ]
        if encoder.frames == 0:
            encoder.work_path.unlink()
            continue
        _, segments = write_segments(
            encoder.work_path,
            encoder.work_path.parent,
            starts,
            first_number=run.first_segment,
            first_time=float(first / fps),
            write_init=run.index == 0,
        )
        written[encoder.rung.name] = segments
    if progress is not None:
        progress(1.0)
    return written


class _Throttle:
    """Pass fractions on at most once per percent."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._last = -1.0

    def __call__(self, fraction: float) -> None:
        if self._progress is not None and fraction - self._last >= 0.01:
            self._last = fraction
            self._progress(fraction)


def transcode_audio(
    src: MediaInput,
    out_dir: str | os.PathLike[str],
    *,
    segment_duration: float = 4.0,
    bitrate: int = DEFAULT_AUDIO_BITRATE,
    info: MediaInfo | None = None,
    limits: MediaLimits | None = None,
) -> list[Segment]:
    """Encode the whole audio track into ``out_dir/audio`` as one job (``[]`` without audio).
    A file object ``src`` needs ``info``."""
    out = Path(out_dir)
    info = known_or_probed(src, info, limits)
    if info.audio is None:
        return []
    branch = AudioBranch(info, out, bitrate)
    try:
        for time, frame in decode_frames(src, info, video=False):
            if isinstance(frame, av.AudioFrame):
                branch.push(time, frame)
        sound = branch.finish()
    except BaseException:
        branch.abort()
        raise
    _, segments = write_segments(
        sound.work_path,
        sound.work_path.parent,
        segment_starts(info.duration, segment_duration),
        priming=sound.priming,
    )
    return segments


def write_manifests(
    out_dir: str | os.PathLike[str], ladder: list[Rung], info: MediaInfo, segment_duration: float
) -> TranscodeResult:
    """Once every run (and the audio job) is in, write playlists and the MPD, last.

    Raises :class:`IncompleteOutput` when a rung lacks its init or a segment."""
    out = Path(out_dir)
    expected = segment_count(info.duration, segment_duration)
    videos = []
    for rung in ladder if info.video is not None else []:
        folder = out / rung.name
        if not (folder / INIT_NAME).is_file():
            raise IncompleteOutput(f"Rendition {rung.name} has no init segment yet.")
        track, segments = scan_segments(folder)
        numbers = [s.number for s in segments]
        if numbers != list(range(1, len(numbers) + 1)) or len(numbers) < expected - 1:
            raise IncompleteOutput(f"Rendition {rung.name} is missing segments.")
        videos.append(video_rendition(rung, track, segments, sum(s.samples for s in segments)))
    audio = None
    if info.audio is not None:
        if not (out / "audio" / INIT_NAME).is_file():
            raise IncompleteOutput("The audio rendition is not written yet.")
        track, segments = scan_segments(out / "audio")
        bitrate = max((r.audio_bitrate for r in ladder), default=DEFAULT_AUDIO_BITRATE)
        audio = audio_rendition(track, segments, bitrate, track.timescale)
    return finish_outputs(out, videos, audio, info, segment_duration)
