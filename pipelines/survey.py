"""Low-level looks at an input: magic bytes, a packet survey, and decoding a short window.

Helpers for :mod:`pipelines.probe`; times are seconds on the container's own clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import av
import av.error
from av.container import InputContainer
from av.stream import Stream

from pipelines.errors import CorruptMedia, format_clock

__all__ = ["sniff_kind", "PacketSurvey", "survey_packets", "DecodeWindow", "decode_window"]

log = logging.getLogger(__name__)

_VFR_SAMPLE = 2000
_WINDOW_FRAMES = 4
_TAIL_ERRORS = 0.5
"""Decode errors this close (seconds) to the readable end are a cut-off tail, not damage."""

_MAGIC: list[tuple[int, bytes, str]] = [
    (4, b"ftyp", "an MP4 or MOV video"),
    (0, b"\x1a\x45\xdf\xa3", "a Matroska or WebM video"),
    (0, b"RIFF", "an AVI or WAV file"),
    (0, b"FLV", "an FLV video"),
    (0, b"OggS", "an Ogg file"),
    (0, b"ID3", "an MP3 file"),
    (0, b"fLaC", "a FLAC file"),
]


def sniff_kind(path: Path) -> str | None:
    """Name the file type its first bytes claim (``"text"`` for plain text), else ``None``."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    for offset, magic, kind in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "an MPEG-TS video"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(ch.isprintable() or ch in "\r\n\t\f" for ch in text):
        return "text"
    return None


@dataclass
class PacketSurvey:
    """Where readable packets start and end (seconds), per selected stream and overall."""

    packets: int = 0
    untimed: int = 0
    start: float = 0.0
    end: float = 0.0
    ends: dict[int, float] = field(default_factory=dict)
    times: dict[int, list[float]] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)

    def looks_vfr(self, stream: Stream) -> bool:
        """True when frame intervals vary by more than 10% around the median (a guess)."""
        times = sorted(self.times.get(stream.index, []))
        gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b > a]
        if len(gaps) < 3:
            return False
        mid = median(gaps)
        return any(abs(gap - mid) > 0.1 * mid + 1e-4 for gap in gaps)

    def fps_estimate(self, stream: Stream) -> float | None:
        count = self.counts.get(stream.index, 0)
        span = self.ends.get(stream.index, 0.0) - self.start
        return count / span if count and span > 0 else None


def survey_packets(container: InputContainer, streams: Sequence[Stream]) -> PacketSurvey:
    """Demux (without decoding) every packet of ``streams``; a demuxer error ends the survey
    like a cut-off file would."""
    survey = PacketSurvey()
    first: float | None = None
    try:
        for packet in container.demux(streams):
            if packet.size == 0:
                continue
            if packet.pts is None:
                survey.untimed += 1
                continue
            index = packet.stream.index
            begin = float(packet.pts * packet.time_base)
            finish = begin + float((packet.duration or 0) * packet.time_base)
            first = begin if first is None else min(first, begin)
            survey.packets += 1
            survey.counts[index] = survey.counts.get(index, 0) + 1
            survey.ends[index] = max(survey.ends.get(index, finish), finish)
            if packet.stream.type == "video" and len(survey.times.setdefault(index, [])) < _VFR_SAMPLE:
                survey.times[index].append(begin)
    except av.error.FFmpegError as exc:
        log.info("demuxing stopped early: %s", exc)
    survey.start = max(first or 0.0, 0.0)
    survey.end = max(survey.ends.values(), default=0.0)
    return survey


@dataclass
class DecodeWindow:
    """The first frame decoded per stream index, and whether any video frame was interlaced."""

    first_frames: dict[int, av.VideoFrame | av.AudioFrame] = field(default_factory=dict)
    interlaced: bool = False


def decode_window(
    container: InputContainer, streams: Sequence[Stream], survey: PacketSurvey, at: float
) -> DecodeWindow:
    """Seek to ``at`` seconds and decode a few frames of each stream.

    Raises :class:`CorruptMedia` when the decoder rejects data well before the readable end.
    """
    window = DecodeWindow()
    counts = {s.index: 0 for s in streams}
    try:
        container.seek(int(at * 1e6), backward=True, any_frame=False)
    except av.error.FFmpegError as exc:  # unseekable input: this checkpoint is skipped
        log.info("cannot seek to %.3f s: %s", at, exc)
        return window
    for packet in container.demux(streams):
        index = packet.stream.index
        when = float(packet.pts * packet.time_base) if packet.pts is not None else at
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            if when >= survey.end - _TAIL_ERRORS:
                break
            raise CorruptMedia(
                f"The file is damaged around {format_clock(when - survey.start)}; "
                "it cannot be played from there."
            ) from exc
        for frame in frames:
            if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                continue
            if frame.time is not None and frame.time < at - 1e-6:
                continue
            window.first_frames.setdefault(index, frame)
            if isinstance(frame, av.VideoFrame) and frame.interlaced_frame:
                window.interlaced = True
            counts[index] += 1
        if all(n >= _WINDOW_FRAMES for n in counts.values()):
            break
    return window
