"""Single-pass ABR transcoding: decode once, encode every rung and the audio, package CMAF,
then write the HLS and DASH manifests last (so a viewer never sees half a video).

Output layout under ``out_dir`` (deterministic names; a rerun overwrites the same files)::

    master.m3u8  manifest.mpd
    <rung.name>/init.mp4  <rung.name>/seg_00001.m4s ...  <rung.name>/playlist.m3u8
    audio/init.mp4  audio/seg_00001.m4s ...  audio/playlist.m3u8
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import av

from pipelines.branches import AudioBranch, FrameSink, VideoBranch
from pipelines.decoding import decode_frames
from pipelines.errors import CorruptMedia
from pipelines.ladder import Rung, fps_fraction
from pipelines.manifests import (
    MASTER_NAME,
    MPD_NAME,
    PLAYLIST_NAME,
    audio_rendition,
    finish_outputs,
    video_rendition,
)
from pipelines.media import MediaInfo, MediaInput, MediaLimits
from pipelines.packaging.cmaf import write_segments
from pipelines.probe import known_or_probed
from pipelines.renditions import Rendition, TranscodeResult
from pipelines.timeline import boundary_frame, segment_starts

__all__ = ["transcode", "check_ladder", "Progress", "DEFAULT_AUDIO_BITRATE"]

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
"""Called with the fraction done, 0.0 to 1.0, at most about once per percent."""

DEFAULT_AUDIO_BITRATE = 128_000


def transcode(
    src: MediaInput,
    out_dir: str | os.PathLike[str],
    ladder: list[Rung],
    *,
    segment_duration: float = 4.0,
    progress: Progress | None = None,
    limits: MediaLimits | None = None,
    info: MediaInfo | None = None,
    frame_sinks: Sequence[FrameSink] = (),
) -> TranscodeResult:
    """Transcode ``src`` into every rung of ``ladder`` plus one stereo AAC rendition.

    ``segment_duration`` is in seconds: every segment but the last lasts exactly that (to
    the frame). ``info`` skips probing when the caller already probed ``src`` with ``limits``
    (a file object ``src`` needs it). ``frame_sinks`` see every upright decoded frame, so a
    :class:`ThumbnailPicker` and a :class:`StoryboardBuilder` can ride along on the same
    decoding pass (call their ``finish()`` afterwards).
    Raises :class:`MediaError` subclasses for bad input (see :func:`pipelines.probe.probe`).
    """
    if segment_duration <= 0:
        raise ValueError("segment_duration must be positive")
    check_ladder(ladder)
    out = Path(out_dir)
    info = known_or_probed(src, info, limits)
    ladder = ladder if info.video is not None else []
    out.mkdir(parents=True, exist_ok=True)
    _clear_outputs(out, [r.name for r in ladder] + ["audio"])
    video_branch = None
    if info.video is not None and ladder:
        video_branch = VideoBranch(info, ladder, out, segment_duration, frame_sinks=frame_sinks)
    audio_branch = None
    try:
        if info.audio is not None:
            bitrate = max((r.audio_bitrate for r in ladder), default=DEFAULT_AUDIO_BITRATE)
            audio_branch = AudioBranch(info, out, bitrate)
        _decode_into(src, info, video_branch, audio_branch, _Reporter(progress, info.duration))
        videos = _package_video(video_branch, info, segment_duration) if video_branch else []
        video_branch = None
        audio = _package_audio(audio_branch, info, segment_duration) if audio_branch else None
        audio_branch = None
    finally:
        for branch in (video_branch, audio_branch):
            if branch is not None:
                branch.abort()
    result = finish_outputs(out, videos, audio, info, segment_duration)
    if progress is not None:
        progress(1.0)
    return result


def check_ladder(ladder: list[Rung]) -> None:
    """Refuse ladders that would collide on disk or that encoders cannot take (ValueError)."""
    names = [rung.name for rung in ladder]
    if len(set(names)) != len(names) or "audio" in names:
        raise ValueError(f"rung names must be unique and not 'audio': {names}")
    for rung in ladder:
        if rung.width <= 0 or rung.height <= 0 or rung.width % 2 or rung.height % 2 or rung.fps <= 0:
            raise ValueError(f"rung {rung.name} needs positive even dimensions and a positive fps")
        if rung.threads < 0:
            raise ValueError(f"rung {rung.name} needs threads >= 0 (0: the encoder picks)")


def _decode_into(
    source: MediaInput,
    info: MediaInfo,
    video: VideoBranch | None,
    audio: AudioBranch | None,
    report: _Reporter,
) -> None:
    """The one decoding pass: every frame goes to its branch."""
    for time, frame in decode_frames(source, info, video=video is not None, audio=audio is not None):
        if isinstance(frame, av.VideoFrame):
            if video is not None and time < info.duration + 1e-3:
                video.push(time, frame)
                report(time)
        elif audio is not None:
            audio.push(time, frame)
            if video is None:
                report(time)


def _package_video(branch: VideoBranch, info: MediaInfo, segment_duration: float) -> list[Rendition]:
    renditions = []
    for encoder in branch.finish(min(branch.end, info.duration) or info.duration):
        fps = fps_fraction(encoder.rung.fps)
        starts, k = [], 0
        while boundary_frame(k, fps, segment_duration) < encoder.frames:
            starts.append(float(boundary_frame(k, fps, segment_duration) / fps))
            k += 1
        track, segments = write_segments(encoder.work_path, encoder.work_path.parent, starts)
        if not segments:
            raise CorruptMedia("The video track could not be decoded.")
        renditions.append(video_rendition(encoder.rung, track, segments, encoder.frames))
    return renditions


def _package_audio(branch: AudioBranch, info: MediaInfo, segment_duration: float) -> Rendition | None:
    sound = branch.finish()
    # Cut on the source's clock: encoder padding must not spawn a tiny extra segment.
    track, segments = write_segments(
        sound.work_path,
        sound.work_path.parent,
        segment_starts(info.duration, segment_duration),
        priming=sound.priming,
    )
    if not segments:
        log.warning("the audio stream of %s produced no samples", info.path)
        return None
    return audio_rendition(track, segments, branch.bitrate, sound.sample_rate)


def _clear_outputs(out: Path, folders: list[str]) -> None:
    """Before a (re)run: drop manifests first (nothing may point at missing files), then the
    segments of an earlier run so a shorter rerun leaves no stale files behind."""
    for name in (MASTER_NAME, MPD_NAME):
        (out / name).unlink(missing_ok=True)
    for name in folders:
        (out / name / PLAYLIST_NAME).unlink(missing_ok=True)
        _clear_segments(out / name)


def _clear_segments(folder: Path) -> None:
    """Remove segments of an earlier run so a shorter rerun leaves no stale files behind."""
    if folder.is_dir():
        for stale in folder.glob("seg_*.m4s"):
            stale.unlink()


class _Reporter:
    def __init__(self, progress: Progress | None, duration: float) -> None:
        self._progress = progress
        self._duration = max(duration, 1e-6)
        self._last = -1.0

    def __call__(self, time: float) -> None:
        if self._progress is None:
            return
        # Encoding is most of the work; keep 5% for packaging and manifests.
        fraction = min(max(time / self._duration, 0.0), 1.0) * 0.95
        if fraction - self._last >= 0.01:
            self._last = fraction
            self._progress(fraction)
