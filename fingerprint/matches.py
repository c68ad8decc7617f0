"""Match results, merging audio and video evidence, clipping to the files' bounds, and the claim rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

CLAIM_MIN_SECONDS = 7.0
"""A match longer than this (seconds), once clipped to both files, becomes a Content-ID claim."""
MERGE_GAP_SECONDS = 1.0
"""Spans of one reference closer than this in the query are merged."""
MERGE_OFFSET_SECONDS = 2.0
"""Spans are merged only if their offsets (query - reference start) agree this closely."""


@dataclass(frozen=True)
class Match:
    """One reference found in a query. Times and durations are seconds.

    ``query_start`` and ``duration`` are in the query's timeline, ``reference_start`` in the
    reference's. ``score`` (0..1) is the share of the query's landmarks (audio) or frames (video)
    within the span that matched.
    """

    reference_id: int
    kind: Literal["audio", "video"]
    query_start: float
    reference_start: float
    duration: float
    score: float

    def __post_init__(self) -> None:
        # numpy scalars would leak into JSON and comparisons; store plain Python numbers.
        object.__setattr__(self, "reference_id", int(self.reference_id))
        for name in ("query_start", "reference_start", "duration", "score"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def query_end(self) -> float:
        return self.query_start + self.duration

    @property
    def offset(self) -> float:
        """query_start - reference_start (seconds)."""
        return self.query_start - self.reference_start

    def within(self, query_seconds: float | None, reference_seconds: float | None) -> Match | None:
        """This match cut to where both files have media: query times in 0..``query_seconds``,
        reference times in 0..``reference_seconds`` (``None``: only 0 bounds that file). Evidence
        at the edges can reach past them (a frozen first frame matches the reference's first
        frame half a second early); ``None`` when nothing is left."""
        cut = max(0.0, -self.query_start, -self.reference_start)
        end = self.duration
        if query_seconds is not None:
            end = min(end, query_seconds - self.query_start)
        if reference_seconds is not None:
            end = min(end, reference_seconds - self.reference_start)
        if end - cut <= 0:
            return None
        if cut == 0 and end == self.duration:
            return self
        return replace(
            self,
            query_start=self.query_start + cut,
            reference_start=self.reference_start + cut,
            duration=end - cut,
        )

    def as_dict(self) -> dict[str, Any]:
        """The claim fields, with times rounded to milliseconds."""
        out = asdict(self)
        for key in ("query_start", "reference_start", "duration", "score"):
            out[key] = round(float(out[key]), 3)
        return out


def _joinable(a: Match, b: Match) -> bool:
    return (
        a.reference_id == b.reference_id
        and b.query_start <= a.query_end + MERGE_GAP_SECONDS
        and abs(a.offset - b.offset) <= MERGE_OFFSET_SECONDS
    )


def _join(a: Match, b: Match) -> Match:
    start = min(a.query_start, b.query_start)
    end = max(a.query_end, b.query_end)
    lead = a if a.duration >= b.duration else b
    return replace(
        lead,
        query_start=start,
        reference_start=start - lead.offset,
        duration=end - start,
        score=max(a.score, b.score),
    )


def merge(matches: list[Match]) -> list[Match]:
    """Join matches of one reference whose query spans overlap and whose offsets agree.

    Audio and video evidence for the same stretch becomes one match whose kind is that of the
    longer piece of evidence; its span is the union of both.
    """
    merged = sorted(matches, key=lambda m: (m.reference_id, m.query_start))
    changed = True
    while changed:
        changed = False
        pending, merged = merged, []
        for m in pending:
            for i, k in enumerate(merged):
                if _joinable(k, m) or _joinable(m, k):
                    merged[i] = _join(k, m)
                    changed = True
                    break
            else:
                merged.append(m)
    merged.sort(key=lambda m: (m.reference_id, m.query_start))
    return merged


def claims(
    matches: list[Match],
    query_seconds: float | None = None,
    reference_seconds: Mapping[int, float] | None = None,
) -> list[Match]:
    """Merged matches clipped to the query's length and each reference's (seconds, by reference
    id; see :meth:`Match.within`), kept when still longer than CLAIM_MIN_SECONDS."""
    lengths = reference_seconds or {}
    clipped = (m.within(query_seconds, lengths.get(m.reference_id)) for m in merge(matches))
    return [m for m in clipped if m is not None and m.duration > CLAIM_MIN_SECONDS]
