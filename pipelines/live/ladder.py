"""Which rungs a live source gets below it, after the VOD ladder's rules (``pipelines.ladder``).

Rungs are named by their short side, so portrait and landscape sources get the same ladder; a
rung is never larger than 90 % of the source's short side (no upscale, no near-copy of the
source); sizes keep the source's aspect ratio and are even; bitrates follow the VOD table
(``DEFAULT_BITRATES``), scaled by pixel count from its 16:9 reference and by frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.ladder import DEFAULT_BITRATES

__all__ = ["LiveRung", "live_rungs"]

_MARGIN = 0.9


@dataclass(frozen=True, slots=True)
class LiveRung:
    """One transcoded rendition: ``name`` like ``720p``, sizes in pixels, ``bitrate`` in bits per
    second (video only; the source's audio is carried as it is)."""

    name: str
    width: int
    height: int
    bitrate: int


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def _bitrate(short: int, width: int, height: int, fps: float) -> int:
    reference = min((s for s in DEFAULT_BITRATES if s >= short), default=max(DEFAULT_BITRATES))
    low, high = DEFAULT_BITRATES[reference]
    per_fps = low + (high - low) * min(max(fps - 30.0, 0.0), 30.0) / 30.0
    scaled = per_fps * width * height / (reference * reference * 16 / 9)
    return int(round(scaled / 1000.0)) * 1000


def live_rungs(width: int, height: int, fps: float, sizes: tuple[int, ...]) -> list[LiveRung]:
    """The rungs for a ``width`` x ``height`` source at ``fps`` frames per second, largest first;
    ``[]`` when no size in ``sizes`` (short sides) fits below it."""
    if width <= 0 or height <= 0:
        return []
    source_short = min(width, height)
    rungs = []
    for short in sorted({s for s in sizes if 0 < s <= source_short * _MARGIN}, reverse=True):
        if width >= height:
            w, h = _even(short * width / height), _even(short)
        else:
            w, h = _even(short), _even(short * height / width)
        rungs.append(LiveRung(f"{short}p", w, h, _bitrate(short, w, h, fps)))
    return rungs
