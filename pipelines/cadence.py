"""Constant frame rate from any input timing (VFR, higher rates, gaps).

Output frame ``n`` sits at ``n / fps`` seconds and shows the newest input frame whose time is at
most half an output interval later, so an input already at ``fps`` passes through one-to-one,
60 -> 30 keeps every other frame, and a gap in a VFR input repeats the last picture.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Generic, TypeVar

__all__ = ["ConstantRate"]

T = TypeVar("T")


class ConstantRate(Generic[T]):
    """Resample a stream of (time seconds, item) to ``fps`` slots; times must not decrease."""

    def __init__(self, fps: Fraction, *, first_slot: int = 0) -> None:
        """``first_slot`` > 0 starts mid-stream (a chunked run): earlier slots are never emitted."""
        self.fps = fps
        self.emitted = first_slot
        self._last: T | None = None

    def _cutoff(self, index: int) -> float:
        return float((index + Fraction(1, 2)) / self.fps)

    def push(self, time: float, item: T) -> list[tuple[int, T]]:
        """Feed an input frame at ``time`` seconds; returns the (slot index, item) pairs now
        decided. Slots before the first frame reuse the first frame."""
        ready = []
        while self._cutoff(self.emitted) < time:
            ready.append((self.emitted, self._last if self._last is not None else item))
            self.emitted += 1
        self._last = item
        return ready

    def finish(self, end: float) -> list[tuple[int, T]]:
        """Fill the slots up to ``end`` seconds (the input's end) with the last frame."""
        total = math.floor(end * self.fps + Fraction(1, 2))
        ready = []
        while self._last is not None and self.emitted < total:
            ready.append((self.emitted, self._last))
            self.emitted += 1
        return ready
