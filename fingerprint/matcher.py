"""Matching a query fingerprint against the indexes by consistent time alignment.

Every index hit pairs a query time with a reference time. A true copy makes many hits agree on
one offset (query time - reference time); chance hits spread over all offsets. So hits are voted
into an offset histogram per reference, the best offsets are taken, and the matched span is the
extent of the hits that agree on that offset within a small tolerance, cut into separate runs
where the agreeing hits pause for longer than :data:`AUDIO_MAX_GAP` (the voting itself is in
:mod:`fingerprint.voting`; video matching, on the same votes, in :mod:`fingerprint.video_match`).

Audio speed changes are undone by trying factors of :data:`SPEED_FACTORS` on the query's peaks
(see :meth:`fingerprint.audio.Peaks.landmarks`) and keeping the factor with most votes: 1.0 in
full, the others in a cheap sweep first and in full only where the sweep peaks (see
:class:`Matcher`). The index walks its postings in a compiled kernel that keeps only the hits
that can reach :data:`MIN_AUDIO_VOTES` (:mod:`fingerprint.kernels`), one speed factor a thread.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .audio import FRAME_SECONDS, Landmarks
from .errors import InvalidFingerprint
from .extract import MediaFingerprint
from .index import Hits
from .kernels import plausible_mask
from .matches import Match
from .video_match import video_matches
from .voting import MAX_OFFSETS_PER_REFERENCE, best_offsets, dedupe, runs

SPEED_FACTORS = tuple(round(1.0 + 0.005 * k, 3) for k in range(-8, 9))
"""Speed-ups tried on audio queries: 0.96 to 1.04 in steps of 0.5%."""
MIN_AUDIO_VOTES = 10
"""Distinct anchor pairs (query time, reference time) that must agree on one offset (within
AUDIO_TOLERANCE) for an audio match."""
MIN_AUDIO_SECONDS = 3.0
"""Shortest audio run kept (seconds of query): chance alignments between similar tracks (the
same composer's pieces in the benchmark) often gathered their votes within 1.8-2.7 s."""
SURE_AUDIO_VOTES = 14
MIN_AUDIO_VOTE_RATE = 3.0
"""A run with fewer than SURE_AUDIO_VOTES matched anchors must have at least this many per second
of its span. On the benchmark's music, chance alignments that passed MIN_AUDIO_VOTES had 10-13
votes at 1.2-2.9 a second; true matches under 5 dB SNR noise had 3.5 a second or more."""
QUERY_FAN_OUT = 12
"""Targets per anchor on the query side: twice the reference's, so that a reference pair is still
formed when noise or other audio inserts extra peaks into the query's target zones."""
SWEEP_FAN_OUT = 2
"""Targets per anchor in the speed sweep: the nearest targets, those most often kept by a copy
(a sixth of the hits of a full query; 3 gave the same answers on the benchmark's queries for
25-40% more CPU at 1,000 hours)."""
SWEEP_SPEEDS = 2
"""Speed factors besides 1.0 that get a full query after the sweep, at most: a peak's factor and
its stronger neighbour."""
SWEEP_MIN_RATIO = 2.0
"""A factor is queried in full when its sweep count (most hits of one reference at one offset)
is a local maximum over the factors and more than this many times their median: most factors
hold chance hits only (at 1,000 hours the median is 13 and chance peaks reach 16; an exact copy
at another speed peaked at 265 in the benchmark's scale run)."""
AUDIO_TOLERANCE = 2
"""Offset tolerance in landmark frames (8 ms each) when collecting a span's hits."""
AUDIO_MAX_GAP = 6.0
"""Seconds without agreeing audio hits that end a run (noise can thin hits out for seconds)."""


class HitSource(Protocol):
    """An index the matcher can ask: AudioIndex, VideoIndex or a ShardedIndex of either.

    An audio source with a ``search(queries, weight, sweep)`` method (AudioIndex, ShardedIndex)
    is asked for the prefiltered hits of several speed factors at once and for the speed sweep;
    others are asked ``query`` for every speed factor.
    """

    def query(self, *args: Any, **kwargs: Any) -> Any: ...


def _plausible(refs: np.ndarray, offsets: np.ndarray, weight: int) -> np.ndarray:
    """Mask of the hits that may belong to a (reference, offset) with ``weight`` votes.

    A linear-time filter before the sorts of the exact vote, for hit sources that only answer
    ``query``: hits are counted in buckets of (reference, offset // 4) hashed into a table, and a
    hit is kept when its bucket and the two neighbouring offset buckets hold ``weight`` hits
    together. Every hit within AUDIO_TOLERANCE (2) of an offset with ``weight`` votes within +-1
    lies in two adjacent buckets that hold those votes, so it is kept; hash collisions only keep
    more. Indexes that have ``plausible`` apply the same rule in a compiled kernel.
    """
    _, rank = np.unique(refs, return_inverse=True)
    return plausible_mask(rank, offsets, weight)


def _credible(votes: int, seconds: float) -> bool:
    """Whether an audio run of ``votes`` matched anchors over ``seconds`` of query is a match."""
    if votes < MIN_AUDIO_VOTES or seconds < MIN_AUDIO_SECONDS:
        return False
    return votes >= SURE_AUDIO_VOTES or votes >= MIN_AUDIO_VOTE_RATE * seconds


def _distinct_pairs(refs: np.ndarray, q_times: np.ndarray, r_times: np.ndarray) -> np.ndarray:
    """Distinct (reference, query time, reference time) triples, shape (3, n), as int64.

    One anchor pair matching through several of its targets is one piece of evidence. The
    triples are packed into one int64 key when they fit (a 1-d sort is several times faster than
    a sort of rows).
    """
    if len(refs) == 0:
        return np.zeros((3, 0), np.int64)
    q = q_times.astype(np.int64)
    r = r_times.astype(np.int64)
    ref_values, ref_rank = np.unique(refs, return_inverse=True)
    q_bits, r_bits = max(1, int(q.max()).bit_length()), max(1, int(r.max()).bit_length())
    if q.min() < 0 or r.min() < 0 or len(ref_values).bit_length() + q_bits + r_bits > 63:
        return np.unique(np.stack([refs.astype(np.int64), q, r]), axis=1)
    key = np.unique((ref_rank.astype(np.int64) << (q_bits + r_bits)) | (q << r_bits) | r)
    return np.stack(
        [
            ref_values[key >> (q_bits + r_bits)].astype(np.int64),
            (key >> r_bits) & ((1 << q_bits) - 1),
            key & ((1 << r_bits) - 1),
        ]
    )


def _swept(speeds: list[float], counts: list[int]) -> tuple[float, ...]:
    """The factors other than 1.0 to query in full after a sweep of ``speeds`` (ascending) that
    counted ``counts``: at most SWEEP_SPEEDS, peaks above SWEEP_MIN_RATIO times the median and
    the stronger neighbour of each, strongest first."""
    floor = SWEEP_MIN_RATIO * float(np.median(counts))
    peaks = [
        i
        for i, (count, speed) in enumerate(zip(counts, speeds, strict=True))
        if speed != 1.0
        and count > floor
        and count >= max(counts[max(0, i - 1)], counts[min(len(counts) - 1, i + 1)])
    ]
    chosen: list[float] = []
    for i in sorted(peaks, key=lambda i: -counts[i]):
        # A copy between two factors, or a long one, aligns partly at each: the stronger
        # neighbour of a peak is queried too.
        near = [j for j in (i - 1, i + 1) if 0 <= j < len(speeds) and speeds[j] != 1.0]
        for j in [i, *sorted(near, key=lambda j: -counts[j])[:1]]:
            if len(chosen) < SWEEP_SPEEDS and counts[j] > floor and speeds[j] not in chosen:
                chosen.append(speeds[j])
    return tuple(sorted(chosen))


class Matcher:
    """Finds where references occur in a query; either index may be None."""

    def __init__(
        self,
        audio_index: HitSource | None,
        video_index: HitSource | None,
        speed_factors: tuple[float, ...] = SPEED_FACTORS,
        speed_fallback: bool = False,
        speed_sweep: bool = True,
    ) -> None:
        """``speed_fallback``: try the audio query at speed 1.0 first and the other speed factors
        only when that finds nothing (one index pass instead of 17 for unaltered copies).

        ``speed_sweep``: query speed 1.0 in full, and of the other factors only up to
        :data:`SWEEP_SPEEDS` where a sweep of every factor with :data:`SWEEP_FAN_OUT` targets
        per anchor (a sixth of the hits, counted but not voted) peaks (see
        :data:`SWEEP_MIN_RATIO`); index sources without ``search`` get every factor in full.
        The sweep finds exact and lightly degraded copies at other speeds; a copy that is both
        sped up and weak (a few seconds under heavy noise) may stay below its peak rule."""
        if not speed_factors or min(speed_factors) <= 0:
            raise InvalidFingerprint("speed factors must be positive")
        self.audio_index, self.video_index = audio_index, video_index
        self.speed_factors = speed_factors
        self.speed_fallback = speed_fallback
        self.speed_sweep = speed_sweep

    def match(self, query_fp: MediaFingerprint) -> list[Match]:
        """Every audio and video match of the query, strongest first (not merged; see claims)."""
        found: list[Match] = []
        if self.audio_index is not None and query_fp.peaks is not None and len(query_fp.peaks):
            found.extend(self._audio(query_fp))
        if self.video_index is not None and query_fp.frames is not None and len(query_fp.frames):
            found.extend(video_matches(self.video_index, query_fp.frames))
        found.sort(key=lambda m: (-m.duration, m.reference_id, m.query_start))
        return found

    def _audio(self, query_fp: MediaFingerprint) -> list[Match]:
        assert self.audio_index is not None and query_fp.peaks is not None
        if self.speed_fallback and 1.0 in self.speed_factors:
            found = self._audio_at(query_fp, (1.0,))
            if found:
                return found
            return self._audio_at(query_fp, tuple(s for s in self.speed_factors if s != 1.0))
        if not self._sweeping():
            return self._audio_at(query_fp, self.speed_factors)
        # Speed 1.0 in full and the sweep run together (one thread per core); then the peaks.
        plain = query_fp.peaks.landmarks(1.0, QUERY_FAN_OUT)
        index: Any = self.audio_index  # has search (see _sweeping)
        (hits,), counts = index.search([plain], MIN_AUDIO_VOTES, self._sweep_queries(query_fp))
        return self._audio_at(query_fp, _swept(sorted(self.speed_factors), counts), [(1.0, plain, hits)])

    def _sweeping(self) -> bool:
        speeds = self.speed_factors
        return (
            self.speed_sweep
            and hasattr(self.audio_index, "search")
            and 1.0 in speeds
            and len(speeds) > 1 + SWEEP_SPEEDS
        )

    def _sweep_queries(self, query_fp: MediaFingerprint) -> list[Landmarks]:
        assert query_fp.peaks is not None
        return [query_fp.peaks.landmarks(s, SWEEP_FAN_OUT) for s in sorted(self.speed_factors)]

    def _speeds_to_try(self, query_fp: MediaFingerprint) -> tuple[float, ...]:
        """The speed factors that :meth:`match` queries in full."""
        if not self._sweeping():
            return self.speed_factors
        index: Any = self.audio_index  # has search (see _sweeping)
        counts = index.search((), 0, self._sweep_queries(query_fp))[1]
        return (1.0, *_swept(sorted(self.speed_factors), counts))

    def _audio_at(
        self,
        query_fp: MediaFingerprint,
        speeds: tuple[float, ...],
        done: list[tuple[float, Landmarks, Hits]] | None = None,
    ) -> list[Match]:
        """Matches at ``speeds`` (queried in full here) and at the passes already ``done``."""
        assert self.audio_index is not None and query_fp.peaks is not None
        best: dict[tuple[int, int], tuple[int, float, int, np.ndarray, np.ndarray]] = {}
        queries = [query_fp.peaks.landmarks(speed, QUERY_FAN_OUT) for speed in speeds]
        search = getattr(self.audio_index, "search", None)
        if not queries:
            found = []
        elif search is not None:
            found = search(queries, MIN_AUDIO_VOTES)[0]
        else:
            found = []
            for landmarks in queries:
                hits = self.audio_index.query(landmarks)
                offsets = hits.query_times.astype(np.int64) - hits.ref_times
                keep = _plausible(hits.ref_ids, offsets, MIN_AUDIO_VOTES)
                found.append(Hits(hits.ref_ids[keep], hits.ref_times[keep], hits.query_times[keep]))
        for speed, landmarks, hits in [*(done or []), *zip(speeds, queries, found, strict=True)]:
            pairs = _distinct_pairs(hits.ref_ids, hits.query_times, hits.ref_times)
            offsets = pairs[1] - pairs[2]
            for ref, off, votes in best_offsets(
                pairs[0], offsets, MIN_AUDIO_VOTES, MAX_OFFSETS_PER_REFERENCE
            ):
                key = (ref, round(off * FRAME_SECONDS / speed))
                if key not in best or votes > best[key][0]:
                    agree = (pairs[0] == ref) & (np.abs(offsets - off) <= AUDIO_TOLERANCE)
                    anchors = np.unique(landmarks.times)
                    best[key] = (votes, speed, ref, pairs[1:, agree].astype(np.float64), anchors)
        matches: list[tuple[float, Match]] = []
        for _votes, speed, ref, (q, r), anchors in best.values():
            for run in runs(q, AUDIO_MAX_GAP / FRAME_SECONDS * speed):
                matched = len(np.unique(q[run]))
                q0, q1 = q[run].min(), q[run].max()
                seconds = (q1 - q0) * FRAME_SECONDS / speed
                if not _credible(matched, seconds):
                    continue
                in_span = int(np.count_nonzero((anchors >= q0) & (anchors <= q1)))
                matches.append(
                    (
                        matched,
                        Match(
                            reference_id=ref,
                            kind="audio",
                            query_start=q0 * FRAME_SECONDS / speed,
                            reference_start=(float(np.median(r[run] - q[run])) + q0) * FRAME_SECONDS,
                            duration=seconds,
                            score=min(1.0, matched / max(1, in_span)),
                        ),
                    )
                )
        return dedupe(matches)
