"""Matching a query fingerprint against the indexes by consistent time alignment.

Every index hit pairs a query time with a reference time. A true copy makes many hits agree on
one offset (query time - reference time); chance hits spread over all offsets. So hits are voted
into an offset histogram per reference, the best offsets are taken, and the matched span is the
extent of the hits that agree on that offset within a small tolerance, cut into separate runs
where the agreeing hits pause for longer than :data:`AUDIO_MAX_GAP` or :data:`VIDEO_MAX_GAP`.

Audio speed changes are undone by trying each factor of :data:`SPEED_FACTORS` on the query's
peaks (see :meth:`fingerprint.audio.Peaks.landmarks`) and keeping the factor with most votes.
Video hits count distinct query frames, so one similar frame is never a match: a run needs
:data:`MIN_VIDEO_FRAMES` distinct query frames and as many distinct reference frames on one
offset. Plain and mirrored frame hashes are voted separately (a flip applies to the whole video).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .audio import FRAME_SECONDS
from .decode import FRAME_RATE
from .errors import InvalidFingerprint
from .extract import MediaFingerprint
from .matches import Match
from .video import MATCH_RADIUS

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
AUDIO_TOLERANCE = 2
"""Offset tolerance in landmark frames (8 ms each) when collecting a span's hits."""
MAX_MASKED_MOMENTS = 12
"""A corner-masked query hash that resembles more frames of one reference than this is ignored."""
MIN_VIDEO_FRAMES = 8
"""Distinct query frames (4 s at 2 frames a second) that must agree on one offset for a video
match."""
VIDEO_TOLERANCE = 0.4
"""Offset tolerance in seconds for video hits. With 5 frames and 0.75 s, generated textures
(blurred cellular automata) that only look alike matched 8 of 10 negative clips in the benchmark;
with 8 frames and 0.4 s, 2 of 10, for 1 to 2 fewer true matches in 60."""
AUDIO_MAX_GAP = 6.0
"""Seconds without agreeing audio hits that end a run (noise can thin hits out for seconds)."""
VIDEO_MAX_GAP = 3.0
"""Seconds without agreeing frames that end a video run."""
MAX_OFFSETS_PER_REFERENCE = 3
"""Distinct alignments of one reference looked at per query (a clip may reuse it several times)."""


class HitSource(Protocol):
    """An index the matcher can ask: AudioIndex, VideoIndex or a ShardedIndex of either."""

    def query(self, *args: Any, **kwargs: Any) -> Any: ...


def _best_offsets(
    refs: np.ndarray, bins: np.ndarray, weight: int, keys_per_ref: int
) -> list[tuple[int, int, int]]:
    """(ref, offset bin, votes within +-1 bin) of the strongest offsets per reference.

    Offsets must lie within +-2**31 bins; reference ids may be any int64.
    """
    if len(refs) == 0:
        return []
    ref_values, ref_rank = np.unique(refs, return_inverse=True)
    key = ref_rank.astype(np.int64) * (1 << 32) + (bins.astype(np.int64) + (1 << 31))
    uniq, counts = np.unique(key, return_counts=True)
    smooth = counts.copy()
    for step in (-1, 1):
        pos = np.searchsorted(uniq, uniq + step)
        found = (pos < len(uniq)) & (uniq[np.minimum(pos, len(uniq) - 1)] == uniq + step)
        smooth[found] += counts[pos[found]]
    strong = np.nonzero(smooth >= weight)[0]
    strong = strong[np.argsort(-smooth[strong], kind="stable")]
    out: list[tuple[int, int, int]] = []
    taken: dict[int, list[int]] = {}
    for i in strong.tolist():
        ref, off = int(ref_values[uniq[i] >> 32]), int(uniq[i] & 0xFFFFFFFF) - (1 << 31)
        chosen = taken.setdefault(ref, [])
        if len(chosen) >= keys_per_ref or any(abs(off - o) <= 2 for o in chosen):
            continue
        chosen.append(off)
        out.append((ref, off, int(smooth[i])))
    return out


def _plausible(refs: np.ndarray, offsets: np.ndarray, weight: int) -> np.ndarray:
    """Mask of the hits that may belong to a (reference, offset) with ``weight`` votes.

    A linear-time filter before the sorts of the exact vote (which dominated query time): hits
    are counted in buckets of (reference, offset // 4) hashed into a table, and a hit is kept
    when its bucket and the two neighbouring offset buckets hold ``weight`` hits together. Every
    hit within AUDIO_TOLERANCE (2) of an offset with ``weight`` votes within +-1 lies in two
    adjacent buckets that hold those votes, so it is kept; hash collisions only keep more.
    """
    n = len(refs)
    if n == 0:
        return np.zeros(0, bool)
    size = 1 << min(22, max(10, n.bit_length()))
    mask = size - 1
    slot = refs.astype(np.int64).view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    slot += (offsets.astype(np.int64) >> 2).view(np.uint64)
    slot = (slot & np.uint64(mask)).astype(np.intp)
    counts = np.bincount(slot, minlength=size)
    # Neighbouring offset buckets of one reference are neighbouring slots (mod the table size).
    return counts[slot] + counts[(slot + 1) & mask] + counts[(slot - 1) & mask] >= weight


def _credible(votes: int, seconds: float) -> bool:
    """Whether an audio run of ``votes`` matched anchors over ``seconds`` of query is a match."""
    if votes < MIN_AUDIO_VOTES or seconds < MIN_AUDIO_SECONDS:
        return False
    return votes >= SURE_AUDIO_VOTES or votes >= MIN_AUDIO_VOTE_RATE * seconds


def _unambiguous(hits: Any) -> Any:
    """The frame hits whose (reference, query frame) names at most MAX_MASKED_MOMENTS distinct
    reference frames."""
    if len(hits) == 0:
        return hits
    q_ms = np.rint(np.asarray(hits.query_times) * 1000).astype(np.int64)
    r_ms = np.rint(np.asarray(hits.ref_times) * 1000).astype(np.int64)
    _, group = np.unique(np.stack([np.asarray(hits.ref_ids, np.int64), q_ms]), axis=1, return_inverse=True)
    group = group.reshape(-1)
    moments = np.bincount(np.unique(np.stack([group, r_ms]), axis=1)[0])
    keep = moments[group] <= MAX_MASKED_MOMENTS
    return type(hits)(*(getattr(hits, f)[keep] for f in ("ref_ids", "ref_times", "query_times", "distances")))


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


def _runs(times: np.ndarray, max_gap: float) -> list[np.ndarray]:
    """Split sorted-able times into index groups wherever consecutive times differ by > max_gap."""
    order = np.argsort(times, kind="stable")
    breaks = np.nonzero(np.diff(times[order]) > max_gap)[0] + 1
    return np.split(order, breaks)


class Matcher:
    """Finds where references occur in a query; either index may be None."""

    def __init__(
        self,
        audio_index: HitSource | None,
        video_index: HitSource | None,
        speed_factors: tuple[float, ...] = SPEED_FACTORS,
        speed_fallback: bool = False,
    ) -> None:
        """``speed_fallback``: try the audio query at speed 1.0 first and the other speed factors
        only when that finds nothing (one index pass instead of 17 for unaltered copies)."""
        if not speed_factors or min(speed_factors) <= 0:
            raise InvalidFingerprint("speed factors must be positive")
        self.audio_index, self.video_index = audio_index, video_index
        self.speed_factors = speed_factors
        self.speed_fallback = speed_fallback

    def match(self, query_fp: MediaFingerprint) -> list[Match]:
        """Every audio and video match of the query, strongest first (not merged; see claims)."""
        found: list[Match] = []
        if self.audio_index is not None and query_fp.peaks is not None and len(query_fp.peaks):
            found.extend(self._audio(query_fp))
        if self.video_index is not None and query_fp.frames is not None and len(query_fp.frames):
            found.extend(self._video(query_fp))
        found.sort(key=lambda m: (-m.duration, m.reference_id, m.query_start))
        return found

    def _audio(self, query_fp: MediaFingerprint) -> list[Match]:
        if self.speed_fallback and 1.0 in self.speed_factors:
            found = self._audio_at(query_fp, (1.0,))
            if found:
                return found
            return self._audio_at(query_fp, tuple(s for s in self.speed_factors if s != 1.0))
        return self._audio_at(query_fp, self.speed_factors)

    def _audio_at(self, query_fp: MediaFingerprint, speeds: tuple[float, ...]) -> list[Match]:
        assert self.audio_index is not None and query_fp.peaks is not None
        best: dict[tuple[int, int], tuple[int, float, int, np.ndarray, np.ndarray]] = {}
        for speed in speeds:
            landmarks = query_fp.peaks.landmarks(speed, QUERY_FAN_OUT)
            hits = self.audio_index.query(landmarks)
            q_times, r_times = hits.query_times.astype(np.int64), hits.ref_times.astype(np.int64)
            keep = _plausible(hits.ref_ids, q_times - r_times, MIN_AUDIO_VOTES)
            pairs = _distinct_pairs(hits.ref_ids[keep], q_times[keep], r_times[keep])
            offsets = pairs[1] - pairs[2]
            for ref, off, votes in _best_offsets(
                pairs[0], offsets, MIN_AUDIO_VOTES, MAX_OFFSETS_PER_REFERENCE
            ):
                key = (ref, round(off * FRAME_SECONDS / speed))
                if key not in best or votes > best[key][0]:
                    agree = (pairs[0] == ref) & (np.abs(offsets - off) <= AUDIO_TOLERANCE)
                    anchors = np.unique(landmarks.times)
                    best[key] = (votes, speed, ref, pairs[1:, agree].astype(np.float64), anchors)
        matches: list[tuple[float, Match]] = []
        for _votes, speed, ref, (q, r), anchors in best.values():
            for run in _runs(q, AUDIO_MAX_GAP / FRAME_SECONDS * speed):
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
        return self._dedupe(matches)

    def _video(self, query_fp: MediaFingerprint) -> list[Match]:
        assert self.video_index is not None and query_fp.frames is not None
        frames = query_fp.frames
        step = 1.0 / FRAME_RATE
        matches: list[tuple[float, Match]] = []
        for mirrored in (False, True):
            hits = self.video_index.query(
                frames.flipped if mirrored else frames.hashes, frames.times, MATCH_RADIUS
            )
            if not mirrored and frames.masked is not None:
                # The corner-masked hashes vote with the plain ones (a frame counts once either
                # way), but only where they point at a few moments of a reference: with a corner
                # painted over, a still background can look like every frame of a video.
                masked = self.video_index.query(
                    frames.masked.reshape(-1, frames.hashes.shape[1]),
                    np.repeat(frames.times, frames.masked.shape[1]),
                    MATCH_RADIUS,
                )
                hits = type(hits).concat([hits, _unambiguous(masked)])
            if len(hits) == 0:
                continue
            offsets = hits.query_times - hits.ref_times
            bins = np.rint(offsets / step).astype(np.int64)
            frame_key = np.unique(
                np.stack([hits.ref_ids, bins, np.rint(hits.query_times * 1000).astype(np.int64)]), axis=1
            )
            for ref, off_bin, _ in _best_offsets(
                frame_key[0], frame_key[1], MIN_VIDEO_FRAMES, MAX_OFFSETS_PER_REFERENCE
            ):
                # The strongest bin counts its neighbours' frames too, so the run is centred on
                # the median offset of the hits within a bin of it, not on the bin itself.
                mine = hits.ref_ids == ref
                around = offsets[mine & (np.abs(offsets - off_bin * step) <= step + 1e-6)]
                centre = float(np.median(around)) if len(around) else off_bin * step
                agree = mine & (np.abs(offsets - centre) <= VIDEO_TOLERANCE)
                q, off, r = hits.query_times[agree], offsets[agree], hits.ref_times[agree]
                dist = hits.distances[agree]
                for run in _runs(q, VIDEO_MAX_GAP):
                    times = np.unique(q[run])
                    # The reference must advance with the query: a still picture held in the
                    # query matches a few reference frames at many offsets, never a sequence.
                    if len(times) < MIN_VIDEO_FRAMES or len(np.unique(r[run])) < MIN_VIDEO_FRAMES:
                        continue
                    in_span = int(np.count_nonzero((frames.times >= times[0]) & (frames.times <= times[-1])))
                    # Equal frame counts (a repeating picture) go to the closer frames.
                    matches.append(
                        (
                            len(times) - float(np.mean(dist[run])) / 1000,
                            Match(
                                reference_id=ref,
                                kind="video",
                                query_start=float(times[0]),
                                reference_start=float(times[0] - np.median(off[run])),
                                duration=float(times[-1] - times[0]) + step,
                                score=min(1.0, len(times) / max(1, in_span)),
                            ),
                        )
                    )
        return self._dedupe(matches)

    @staticmethod
    def _dedupe(matches: list[tuple[float, Match]]) -> list[Match]:
        """Keep, per reference and kind, the best-supported match of each stretch of the query.

        ``matches`` pairs each match with its evidence (matched anchors or frames). A match is
        dropped when a better-supported one of the same reference and kind covers at least half
        of it: the same copy found at another speed or mirrored, or a musical loop that repeats
        inside the reference and so aligns at a second, weaker offset.
        """
        kept: list[Match] = []
        for _, m in sorted(matches, key=lambda pair: -pair[0]):
            if not any(
                k.reference_id == m.reference_id
                and k.kind == m.kind
                and min(k.query_end, m.query_end) - max(k.query_start, m.query_start) >= 0.5 * m.duration
                for k in kept
            ):
                kept.append(m)
        return kept
