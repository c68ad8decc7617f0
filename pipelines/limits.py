"""Checking an input against :class:`MediaLimits`, and bounding what a decoder may allocate.

The checks run twice in :func:`pipelines.probe.probe`: first on what the headers declare, before
a single frame is decoded, then on what decoding found. Each raises a :class:`LimitExceeded`
subclass with a sentence for the creator. Times are seconds, sizes pixels.
"""

from __future__ import annotations

from pipelines.errors import DurationTooLong, FrameRateTooHigh, ResolutionTooHigh, format_span
from pipelines.media import MediaLimits

__all__ = ["check_duration", "check_picture", "check_frame_rate", "pixel_budget", "decoder_options"]

#: Slack on the frame-rate limit: container rates such as 30000/1001 are rounded.
_FPS_SLACK = 0.01


def check_duration(seconds: float, limits: MediaLimits, noun: str) -> None:
    """Refuse a ``noun`` ("video" or "audio") longer than ``limits.max_duration`` seconds."""
    if limits.max_duration is not None and seconds > limits.max_duration:
        raise DurationTooLong(
            f"The {noun} is {format_span(seconds)} long; the limit is {format_span(limits.max_duration)}."
        )


def _fits(width: int, height: int, limits: MediaLimits) -> bool:
    too_wide = limits.max_width is not None and width > limits.max_width
    too_high = limits.max_height is not None and height > limits.max_height
    return not (too_wide or too_high)


def check_picture(width: int, height: int, limits: MediaLimits, *, either_way: bool = False) -> None:
    """Refuse a ``width`` x ``height`` picture (display pixels) larger than the limits.

    With ``either_way`` (headers, whose rotation is not known yet) a picture that fits once
    turned a quarter is let through, and the decoder's own picture is checked again later.
    """
    if _fits(width, height, limits) or (either_way and _fits(height, width, limits)):
        return
    raise ResolutionTooHigh(
        f"The video is {width}x{height} pixels; the limit is {limits.max_width}x{limits.max_height}."
    )


def check_frame_rate(fps: float, limits: MediaLimits) -> None:
    """Refuse more than ``limits.max_fps`` frames per second."""
    if limits.max_fps is not None and fps > limits.max_fps + _FPS_SLACK:
        raise FrameRateTooHigh(f"The video has {fps:g} frames per second; the limit is {limits.max_fps:g}.")


def pixel_budget(limits: MediaLimits) -> int | None:
    """The most pixels one decoded picture may have under ``limits`` (``None``: unbounded)."""
    if limits.max_width is None or limits.max_height is None:
        return None
    return limits.max_width * limits.max_height


def decoder_options(max_pixels: int | None) -> dict[str, str]:
    """FFmpeg decoder options that refuse any picture of more than ``max_pixels`` pixels.

    FFmpeg checks ``max_pixels`` before it allocates a picture, so a small file that declares or
    holds an enormous picture (a 747 KB PNG of 16000x16000) fails to decode instead of costing
    gigabytes of memory.
    """
    return {} if max_pixels is None else {"max_pixels": str(max_pixels)}
