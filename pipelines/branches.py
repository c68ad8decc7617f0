"""The per-kind halves of a transcode: decoded frames in, encoded work files out.

:class:`VideoBranch` turns frames upright, resamples them to each rung's constant frame rate
(one resampler per distinct rate, shared by rungs at that rate) and feeds every rung's encoder,
all from one decoded frame. :class:`AudioBranch` lines audio up with the video clock and feeds
the one AAC encoder. Both can be limited to a slice of the output (chunked runs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av

from pipelines.cadence import ConstantRate
from pipelines.encoding import AudioEncoder, VideoEncoder, audio_rate_for
from pipelines.ladder import Rung, fps_fraction
from pipelines.media import MediaInfo
from pipelines.timeline import as_fraction, boundary_frame
from pipelines.upright import Upright

__all__ = ["VideoBranch", "AudioBranch", "FrameSink", "work_path", "frame_window"]

FrameSink = Callable[[float, av.VideoFrame], None]
"""Receives (time in seconds, upright full-size frame) for every decoded video frame."""


def work_path(out_dir: Path, name: str, run: int | None = None) -> Path:
    """Where a rendition's work file goes (hidden, removed once cut into segments)."""
    suffix = "" if run is None else f".run{run:05d}"
    return out_dir / name / f".work{suffix}.mp4"


def frame_window(
    rung: Rung, segment_duration: float, first_segment: int, end_segment: int
) -> tuple[int, int]:
    """Frame indices [first, end) of segments [first_segment, end_segment) (0-based) of ``rung``."""
    fps = fps_fraction(rung.fps)
    first = boundary_frame(first_segment, fps, segment_duration)
    return first, boundary_frame(end_segment, fps, segment_duration)


class VideoBranch:
    """Encode every rung from one stream of decoded frames.

    ``windows`` limits each rung to frames [first, end) of its constant-rate output (``None``:
    all frames); frames outside are neither scaled nor encoded. Every upright frame also goes
    to each of ``frame_sinks`` (thumbnails, storyboards) with its time in seconds.
    """

    def __init__(
        self,
        info: MediaInfo,
        ladder: list[Rung],
        out_dir: Path,
        segment_duration: float,
        *,
        run: int | None = None,
        windows: dict[str, tuple[int, int]] | None = None,
        frame_sinks: Sequence[FrameSink] = (),
    ) -> None:
        assert info.video is not None
        self._sinks = list(frame_sinks)
        self._interval = 1.0 / info.video.fps if info.video.fps > 0 else 0.0
        self.upright = Upright(rotation=info.video.rotation, deinterlace=info.video.interlaced)
        self.windows = windows or {}
        self.rates: dict[Fraction, ConstantRate[av.VideoFrame]] = {}
        self.encoders: dict[Fraction, list[VideoEncoder]] = {}
        self._order = [rung.name for rung in ladder]
        step = as_fraction(segment_duration)
        for rung in ladder:
            fps = fps_fraction(rung.fps)
            first, end = self.windows.get(rung.name, (0, 1 << 62))
            frames_per_segment = math.ceil(step * fps)
            keyframes = _KeyframeSet(fps, segment_duration)
            try:
                encoder = VideoEncoder(
                    rung, work_path(out_dir, rung.name, run), keyframes, frames_per_segment
                )
            except BaseException:
                self.abort()
                raise
            self.rates.setdefault(fps, ConstantRate(fps, first_slot=first))
            self.encoders.setdefault(fps, []).append(encoder)
            self.windows.setdefault(rung.name, (first, end))
        self.end = 0.0
        self._shift = 0.0

    def push(self, time: float, frame: av.VideoFrame) -> None:
        """Feed one decoded frame at ``time`` seconds on the input clock."""
        span = (
            float(frame.duration * frame.time_base) if frame.duration and frame.time_base else self._interval
        )
        self.end = max(self.end, time + span)
        # The filter graph may hold frames back (bwdif looks one frame ahead), so each output
        # frame is placed by its own timestamp, shifted onto the input clock.
        if frame.time is not None:
            self._shift = time - frame.time
        for upright in self.upright.process(frame):
            self._emit(self._clock(upright, time), upright)

    def _clock(self, frame: av.VideoFrame, fallback: float) -> float:
        return fallback if frame.time is None else frame.time + self._shift

    def _emit(self, time: float, frame: av.VideoFrame) -> None:
        for sink in self._sinks:
            sink(time, frame)
        for fps, rate in self.rates.items():
            self._encode(fps, rate.push(time, frame))

    def _encode(self, fps: Fraction, slots: list[tuple[int, av.VideoFrame]]) -> None:
        for index, frame in slots:
            for encoder in self.encoders[fps]:
                first, end = self.windows[encoder.rung.name]
                if first <= index < end:
                    encoder.encode(index, frame)

    def finish(self, end: float) -> list[VideoEncoder]:
        """Flush at the input's video end (``end`` seconds), close every encoder and return
        them in ladder order."""
        for frame in self.upright.process(None):
            self._emit(self._clock(frame, self.end), frame)
        closed = []
        for fps, rate in self.rates.items():
            self._encode(fps, rate.finish(end))
            for encoder in self.encoders[fps]:
                encoder.close()
                closed.append(encoder)
        return sorted(closed, key=lambda e: self._order.index(e.rung.name))

    def abort(self) -> None:
        """Close and delete every work file (after a failure)."""
        for encoders in self.encoders.values():
            for encoder in encoders:
                encoder.abort()


class _KeyframeSet:
    """Membership test 'is frame n the first frame of a segment' without listing them all."""

    def __init__(self, fps: Fraction, segment_duration: float) -> None:
        self._step = as_fraction(segment_duration) * fps

    def __contains__(self, index: object) -> bool:
        if not isinstance(index, int):
            return False
        k = math.floor(index / self._step)
        return bool(k * self._step > index - 1)


class AudioBranch:
    """Encode the audio stream once: stereo AAC at 44.1 or 48 kHz, starting at time 0 of the
    input clock (silence fills a late start, audio before it is dropped whole frames at a time)."""

    def __init__(self, info: MediaInfo, out_dir: Path, bitrate: int) -> None:
        assert info.audio is not None
        self.encoder = AudioEncoder(
            work_path(out_dir, "audio"), bitrate=bitrate, sample_rate=audio_rate_for(info.audio.sample_rate)
        )
        self.bitrate = bitrate
        self._started = False

    def push(self, time: float, frame: av.AudioFrame) -> None:
        """Feed one decoded frame at ``time`` seconds on the input (video) clock. Audio that
        ends before time 0 is dropped; a late start is padded with silence."""
        if not self._started and time + frame.samples / max(frame.sample_rate, 1) <= 0:
            return
        if not self._started:
            self._started = True
            if time > 0.01:
                self.encoder.silence(time)
        self.encoder.push(frame)

    def finish(self) -> AudioEncoder:
        self.encoder.close()
        return self.encoder

    def abort(self) -> None:
        self.encoder.abort()
