"""Per-track sample queues for the live packager.

A video sample's duration is only known when the next sample of its track arrives, so a video
lane keeps its newest sample ``pending`` (``push``); an AAC frame always lasts 1024 ticks, so an
audio lane takes each frame with its duration at once (``append``). ``ready`` holds samples with
durations (track timescale ticks) that the next parts will carry.
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
    latest: int | None = None  # decode time of the newest sample taken, pending or ready (ticks)
    end: int | None = None  # end of the newest sample whose duration is known (ticks)

    def place(self, dts: int, *, step: int, max_gap: int, snap: int = 0) -> int:
        """Map a publisher decode time (track ticks) onto this lane's continuous timeline.

        A step backwards, or forwards by more than ``max_gap`` ticks, is a clock jump (a reset
        encoder): the timeline continues one sample duration (the last one, or ``step`` ticks
        before any is known) after the newest sample. A time within ``snap`` ticks of that
        expected time is snapped to it, so that millisecond rounding does not jitter sample
        durations.
        """
        dts += self.offset
        if self.latest is None:
            return dts
        expected = self.latest + (self.last_duration or step)
        if dts <= self.latest or dts - self.latest > max_gap:
            self.offset += expected - dts
            return expected
        return expected if abs(dts - expected) <= snap else dts

    def push(self, sample: Sample) -> None:
        """Queue ``sample``; the one before it gets its duration from the gap between them."""
        if self.pending is not None:
            duration = sample.decode_time - self.pending.decode_time
            self.ready.append(replace(self.pending, duration=duration))
            self.last_duration = duration
            self.end = sample.decode_time
        self.pending = sample
        self.latest = sample.decode_time

    def append(self, sample: Sample) -> None:
        """Take ``sample`` whose duration is already known (an AAC frame)."""
        self.ready.append(sample)
        self.last_duration = sample.duration
        self.latest = sample.decode_time
        self.end = sample.decode_time + sample.duration

    def take_before(self, end: int, timescale: int) -> list[Sample]:
        """Remove and return the ready samples that start before ``end`` (ticks of ``timescale``)."""
        scale = self.track.timescale
        count = 0
        while count < len(self.ready) and self.ready[count].decode_time * timescale < end * scale:
            count += 1
        taken, self.ready = self.ready[:count], self.ready[count:]
        return taken

    def flush(self, default_duration: int) -> None:
        """Move the pending sample to ``ready``, lasting as long as the one before it."""
        if self.pending is not None:
            duration = self.last_duration or default_duration
            self.ready.append(replace(self.pending, duration=duration))
            self.end = self.pending.decode_time + duration
            self.pending = None
