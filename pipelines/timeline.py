"""Segment arithmetic shared by the single pass, chunked runs and the manifests.

Segment ``k`` (0-based) nominally starts at ``k * segment_duration`` seconds. A rendition at
``fps`` starts it on frame ``ceil(k * segment_duration * fps)``, the first frame at or after
that time, so every rendition whose frame grid contains that instant (integer rates, and any
rate for integer multiples of its frame interval) puts its keyframe at the same time.
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["as_fraction", "boundary_frame", "segment_count", "segment_starts"]


def as_fraction(seconds: float) -> Fraction:
    """An exact fraction for a duration given in seconds (e.g. 4.0, 2.5, 6.006)."""
    return Fraction(seconds).limit_denominator(100_000)


def boundary_frame(k: int, fps: Fraction, segment_duration: float) -> int:
    """Index of the first frame of segment ``k`` at ``fps``."""
    return math.ceil(k * as_fraction(segment_duration) * fps)


def segment_count(duration: float, segment_duration: float) -> int:
    """Number of segments of a ``duration`` seconds stream (the last one may be short)."""
    return max(1, math.ceil(as_fraction(duration) / as_fraction(segment_duration) - Fraction(1, 1000)))


def segment_starts(duration: float, segment_duration: float) -> list[float]:
    """Nominal start times (seconds) of every segment."""
    step = as_fraction(segment_duration)
    return [float(k * step) for k in range(segment_count(duration, segment_duration))]
