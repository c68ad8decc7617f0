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
from collections.abc import Callable
from pathlib import Path

import av

from pipelines.branches import AudioBranch, VideoBranch
from pipelines.decoding import decode_frames
from pipelines.ladder import Rung, fps_fraction
from pipelines.manifests import audio_rendition, finish_outputs, video_rendition
from pipelines.media import MediaInfo, MediaLimits
from pipelines.packaging.cmaf import write_segments
from pipelines.probe import probe
from pipelines.renditions import TranscodeResult
from pipelines.timeline import boundary_frame, segment_starts

__all__ = ["transcode", "Progress", "DEFAULT_AUDIO_BITRATE"]

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
"""Called with the fraction done, 0.0 to 1.0, at most about once per percent."""

DEFAULT_AUDIO_BITRATE = 128_000


def transcode(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    ladder: list[Rung],
    *,
    segment_duration: float = 4.0,
    progress: Progress | None = None,
    limits: MediaLimits | None = None,
    info: MediaInfo | None = None,
) -> TranscodeResult:
    """Transcode ``src`` into every rung of ``ladder`` plus one stereo AAC rendition.

    ``segment_duration`` is in seconds: every segment but the last lasts exactly that (to
    the frame). ``info`` skips probing when the caller already probed ``src`` with ``limits``.
    Raises :class:`MediaError` subclasses for bad input (see :func:`pipelines.probe.probe`).
    """
    if segment_duration <= 0:
        raise ValueError("segment_duration must be positive")
    source, out = Path(src), Path(out_dir)
    info = info or probe(source, limits)
    ladder = ladder if info.video is not None else []
    out.mkdir(parents=True, exist_ok=True)
    for rung in ladder:
        _clear_segments(out / rung.name)
    _clear_segments(out / "audio")
    report = _Reporter(progress, info.duration)
    video_branch: VideoBranch | None = None
    audio_branch: AudioBranch | None = None
    if info.video is not None and ladder:
        video_branch = VideoBranch(info, ladder, out, segment_duration)
    if info.audio is not None:
        bitrate = max((r.audio_bitrate for r in ladder), default=DEFAULT_AUDIO_BITRATE)
        audio_branch = AudioBranch(info, out, bitrate)
    for time, frame in decode_frames(source, info, video=video_branch is not None):
        if isinstance(frame, av.VideoFrame):
            if video_branch is not None and time < info.duration + 1e-3:
                video_branch.push(time, frame)
                report(time)
        elif audio_branch is not None:
            audio_branch.push(time, frame)
            if video_branch is None:
                report(time)
    videos = []
    if video_branch is not None:
        for encoder in video_branch.finish(min(video_branch.end, info.duration) or info.duration):
            fps = fps_fraction(encoder.rung.fps)
            starts, k = [], 0
            while boundary_frame(k, fps, segment_duration) < encoder.frames:
                starts.append(boundary_frame(k, fps, segment_duration) / fps)
                k += 1
            track, segments = write_segments(
                encoder.work_path, encoder.work_path.parent, [float(s) for s in starts]
            )
            videos.append(video_rendition(encoder.rung, track, segments, encoder.frames))
    audio = None
    if audio_branch is not None:
        sound = audio_branch.finish()
        # Cut on the source's clock: encoder padding must not spawn a tiny extra segment.
        track, segments = write_segments(
            sound.work_path,
            sound.work_path.parent,
            segment_starts(info.duration, segment_duration),
            priming=sound.priming,
        )
        audio = audio_rendition(track, segments, audio_branch.bitrate, sound.sample_rate)
    result = finish_outputs(out, videos, audio, info, segment_duration)
    if progress is not None:
        progress(1.0)
    return result


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
