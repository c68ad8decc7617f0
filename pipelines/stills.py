"""Shared helpers for still pictures: decode upright frames, measure them, save JPEGs."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import av
import numpy as np

from pipelines.decoding import decode_frames
from pipelines.media import MediaInfo, MediaInput
from pipelines.upright import Upright

__all__ = ["upright_frames", "display_size", "luma_stats", "save_jpeg"]


def upright_frames(
    src: MediaInput, info: MediaInfo, *, start: float = 0.0
) -> Generator[tuple[float, av.VideoFrame], None, None]:
    """Decoded video frames of ``src`` turned upright and deinterlaced, with their times
    (seconds on the input clock), from the keyframe at or before ``start``."""
    assert info.video is not None
    upright = Upright(rotation=info.video.rotation, deinterlace=info.video.interlaced)
    for time, frame in decode_frames(src, info, audio=False, start=start):
        if isinstance(frame, av.VideoFrame):
            for turned in upright.process(frame):
                yield time, turned


def display_size(info: MediaInfo, max_width: int) -> tuple[int, int]:
    """Even (width, height) at the display aspect ratio, no wider than ``max_width``."""
    assert info.video is not None
    width, height = info.video.display_width, float(info.video.display_height)
    if width > max_width:
        height = height * max_width / width
        width = max_width
    return max(2, width // 2 * 2), max(2, int(round(height)) // 2 * 2)


def luma_stats(frame: av.VideoFrame) -> tuple[float, float]:
    """(mean, standard deviation) of the picture's brightness, 0-255, from a 64x36 sample."""
    gray = frame.reformat(64, 36, "gray").to_ndarray()
    return float(np.mean(gray)), float(np.std(gray))


def save_jpeg(frame: av.VideoFrame, path: Path, width: int, height: int, quality: int = 85) -> None:
    """Scale ``frame`` to ``width`` x ``height`` and write it as a JPEG (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = frame.reformat(width, height, "rgb24", interpolation="BICUBIC").to_image()
    temporary = path.with_name(f".{path.name}.tmp")
    image.save(temporary, format="JPEG", quality=quality)
    temporary.replace(path)
