"""Per-track sample queues for the live packager.

A sample's duration is only known when the next sample of its track arrives, so each track keeps
its newest sample pending; ``ready`` holds samples with durations (track timescale ticks) that
the next part will carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.live.fmp4 import Sample
from pipelines.live.tracks import Track

__all__ = ["TrackLane"]


@dataclass
class TrackLane:
    """One track's pending sample and the samples ready for the next part."""

    track: Track
    pending: Sample | None = None
    ready: list[Sample] = field(default_factory=list)
    last_duration: int = 0

    def push(self, sample: Sample) -> None:
        """Queue ``sample``; the one before it gets its duration from the gap between them."""
        if self.pending is not None:
            duration = sample.dts - self.pending.dts
            self.ready.append(
                Sample(
                    self.pending.dts,
                    duration,
                    self.pending.cts_offset,
                    self.pending.keyframe,
                    self.pending.data,
                )
            )
            self.last_duration = duration
        self.pending = sample

    def flush(self, default_duration: int) -> None:
        if self.pending is not None:
            last = self.pending
            self.ready.append(
                Sample(
                    last.dts,
                    self.last_duration or default_duration,
                    last.cts_offset,
                    last.keyframe,
                    last.data,
                )
            )
            self.pending = None
