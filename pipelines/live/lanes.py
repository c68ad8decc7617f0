"""Per-track sample queues for the live packager.

A sample's duration is only known when the next sample of its track arrives, so each track keeps
its newest sample pending; ``ready`` holds samples with durations (track timescale ticks) that
the next part will carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pipelines.packaging.tracks import Sample, Track

__all__ = ["TrackLane"]


@dataclass
class TrackLane:
    """One track's pending sample and the samples ready for the next part."""

    track: Track
    pending: Sample | None = None
    ready: list[Sample] = field(default_factory=list)
    last_duration: int = 0
    offset: int = 0

    def place(self, dts: int, *, step: int, max_gap: int, snap: int = 0) -> int:
        """Map a publisher decode time (track ticks) onto this lane's continuous timeline.

        A step backwards, or forwards by more than ``max_gap`` ticks, is a clock jump (a reset
        encoder): the timeline continues one sample duration (the last one, or ``step`` ticks
        before any is known) after the pending sample. A time
        within ``snap`` ticks of that expected time is snapped to it, so that millisecond
        rounding does not jitter sample durations.
        """
        dts += self.offset
        if self.pending is None:
            return dts
        expected = self.pending.decode_time + (self.last_duration or step)
        if dts <= self.pending.decode_time or dts - self.pending.decode_time > max_gap:
            self.offset += expected - dts
            return expected
        return expected if abs(dts - expected) <= snap else dts

    def push(self, sample: Sample) -> None:
        """Queue ``sample``; the one before it gets its duration from the gap between them."""
        if self.pending is not None:
            duration = sample.decode_time - self.pending.decode_time
            self.ready.append(replace(self.pending, duration=duration))
            self.last_duration = duration
        self.pending = sample

    def flush(self, default_duration: int) -> None:
        """Move the pending sample to ``ready``, lasting as long as the one before it."""
        if self.pending is not None:
            self.ready.append(replace(self.pending, duration=self.last_duration or default_duration))
            self.pending = None
