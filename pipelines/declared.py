"""What an input's headers declare, read without decoding a single frame.

FFmpeg's stream-info search decodes a first frame of any stream whose pixel format it does not
know yet, which for a 16000x16000 PNG in a MOV allocates 730 MiB before the probe could refuse
it. :func:`read_declared` opens the input with no decoder allowed (``codec_whitelist``), so only
the container and codec parameters are read: picture size, sample aspect ratio, frame rate and
duration. :func:`check_declared` refuses an input whose declarations already break the limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.container import InputContainer

from pipelines.limits import check_duration, check_frame_rate, check_picture, pixel_budget
from pipelines.media import MediaLimits

__all__ = ["Declared", "open_without_decoders", "read_declared", "check_declared"]

#: No decoder has this name, so FFmpeg may open none while it looks for stream information.
_NO_DECODERS = {"codec_whitelist": "none"}


@dataclass(frozen=True)
class Declared:
    """Header values; ``None`` where the headers say nothing. Pictures in coded pixels (the
    rotation is not applied: it is known only from decoded frames), duration in seconds."""

    format_name: str
    duration: float | None
    width: int | None
    height: int | None
    sample_aspect_ratio: Fraction | None
    fps: float | None
    has_video: bool

    @property
    def display_width(self) -> int | None:
        """The width once the sample aspect ratio is applied."""
        if self.width is None:
            return None
        sar = self.sample_aspect_ratio if self.sample_aspect_ratio and self.sample_aspect_ratio > 0 else 1
        return round(self.width * sar)


def open_without_decoders(path: Path) -> InputContainer:
    """Open ``path`` reading headers only; raises ``av.error.FFmpegError`` as ``av.open`` does."""
    return av.open(str(path), metadata_errors="ignore", options=_NO_DECODERS)


def read_declared(container: InputContainer) -> Declared:
    """The declarations of a container opened with :func:`open_without_decoders`."""
    video = next(
        (s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic),
        None,
    )
    duration = container.duration / 1e6 if container.duration else None
    if video is None:
        return Declared(container.format.name, duration, None, None, None, None, has_video=False)
    ctx = video.codec_context
    width = ctx.width if ctx is not None and ctx.width > 0 else None
    height = ctx.height if ctx is not None and ctx.height > 0 else None
    rate = video.average_rate or video.guessed_rate
    return Declared(
        format_name=container.format.name,
        duration=duration,
        width=width,
        height=height,
        sample_aspect_ratio=video.sample_aspect_ratio or (ctx.sample_aspect_ratio if ctx else None),
        fps=round(float(rate), 3) if rate else None,
        has_video=True,
    )


def check_declared(declared: Declared, limits: MediaLimits) -> None:
    """Refuse what the headers show to be over ``limits``: duration, picture, pixel count, rate.

    The picture may be turned a quarter by rotation metadata, so either orientation passes here;
    the probe checks the decoded picture exactly. The pixel count is checked on coded pixels,
    which is what a decoder allocates. The duration is believed only from files with video,
    whose containers record it: for bare audio FFmpeg estimates it from the first frame's bit
    rate (a 23 s VBR MP3 without a Xing header that opens quietly declares 162 s), so the
    probe's packet survey, which decodes nothing either, measures it instead.
    """
    if declared.duration is not None and declared.has_video:
        check_duration(declared.duration, limits, "video")
    if declared.width is not None and declared.height is not None:
        budget = pixel_budget(limits)
        display_width = declared.display_width or declared.width
        if budget is not None and declared.width * declared.height > budget:
            # More pixels than the limits' area means wider or higher than allowed: this raises.
            check_picture(declared.width, declared.height, limits)
        check_picture(display_width, declared.height, limits, either_way=True)
    if declared.fps is not None:
        check_frame_rate(declared.fps, limits)
