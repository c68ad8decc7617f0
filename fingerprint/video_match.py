"""Matching a query's frame hashes against a video index by consistent time alignment.

Video hits count distinct query frames, so one similar frame is never a match: a run needs
:data:`MIN_VIDEO_FRAMES` distinct query frames and as many distinct reference frames on one
offset. Plain and mirrored frame hashes are voted separately (a flip applies to the whole video).
A run is then verified on the centre hashes of its frames (:func:`_verified`), so that a texture
that only looks like a reference's is not taken for a copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .decode import FRAME_RATE
from .matches import Match
from .video import MATCH_RADIUS, FrameHashes, hamming
from .voting import MAX_OFFSETS_PER_REFERENCE, best_offsets, dedupe, runs

MAX_MASKED_MOMENTS = 12
"""A corner-masked query hash that resembles more frames of one reference than this is ignored."""
MIN_VIDEO_FRAMES = 8
"""Distinct query frames (4 s at 2 frames a second) that must agree on one offset for a video
match."""
VIDEO_TOLERANCE = 0.6
"""Offset tolerance in seconds for video hits. Without the centre-hash check, 0.75 s (and 5
frames) let generated lookalike textures match 8 of 10 negative clips in the benchmark, and 0.4 s
still 4 of 20; with it none of 60 matched at 0.4 or 0.6 s, and 0.6 s found 6 more of 140 edited
excerpts at their offset (the query's frames fall between the reference's)."""
VIDEO_MAX_GAP = 3.0
"""Seconds without agreeing frames that end a video run."""
CENTRE_LIMIT = 15.0
"""A run is verified when the mean Hamming distance (bits of 64) between its query frames' centre
hashes and those of the reference frames they were found with (the closest, per query frame) is
at most this; see :func:`_verified`. In the benchmark, copies that also resemble their reference
elsewhere (periodic stripes, slow zooms) measured up to 14.8 (one rescale at 15.7, missed), lookalike
textures 15.9 and more."""
CENTRE_LOOSE = 20.0
"""The same limit where the run is specific in time (see MAX_ELSEWHERE)."""
CENTRE_FAR = 3.0
"""Seconds off a run's offset beyond which a hit of the same reference counts as elsewhere (slow
content, a Mandelbrot zoom, still resembles itself 2 s later)."""
MAX_ELSEWHERE = 2.0
"""Hits of the reference elsewhere, per query frame, up to which a run counts as specific."""


def _centre_distances(own: np.ndarray, frames: FrameHashes, q: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Hamming distances between the query's centre hashes at times ``q`` and ``centres``."""
    return np.asarray(hamming(own[np.searchsorted(frames.times, q)], centres), np.float64)


def _verified(frames: FrameHashes, mirrored: bool, run: Any, elsewhere: int) -> bool:
    """Whether a run's hits (FrameHits) are a copy rather than a lookalike, by centre hashes.

    The frame hash finds candidates; lookalike textures (random stripes or blobs of one kind)
    find them too, often over a whole run, because 64 bits of the lowest frequencies say little
    about a texture's layout. The centre hash sees the middle of the picture at twice the detail:
    a copy stays close to the reference's, a lookalike does not. Motion between the query's and
    the reference's sampling instants moves it too (a pan of 2 pixels in 128 cost about 16 bits),
    so the looser CENTRE_LOOSE applies where the frame hash itself is specific: the query
    resembles the reference at its offset and hardly anywhere else (``elsewhere``: hits of the
    reference CENTRE_FAR seconds or more off the run's offset). A lookalike texture resembles
    the reference at many moments (in the benchmark, random stripes 6 to 12 hits elsewhere per
    query frame). A run is taken as it is when either side lacks centre hashes (fingerprints
    made before them).
    """
    own = frames.centre_flipped if mirrored else frames.centre
    if own is None or not run.verifiable.all():
        return True
    dist = _centre_distances(own, frames, run.query_times, run.ref_centres)
    order = np.lexsort((dist, run.query_times))
    first = np.concatenate([[True], np.diff(run.query_times[order]) != 0])
    here = float(np.mean(dist[order][first]))
    specific = elsewhere <= MAX_ELSEWHERE * len(frames)
    return here <= (CENTRE_LOOSE if specific else CENTRE_LIMIT)


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
    return hits.select(moments[group] <= MAX_MASKED_MOMENTS)


def video_matches(video_index: Any, frames: FrameHashes) -> list[Match]:
    """Every video match of the query's frame hashes, strongest first per stretch."""
    step = 1.0 / FRAME_RATE
    matches: list[tuple[float, Match]] = []
    for mirrored in (False, True):
        hits = video_index.query(frames.flipped if mirrored else frames.hashes, frames.times, MATCH_RADIUS)
        if not mirrored and frames.masked is not None:
            # The corner-masked hashes vote with the plain ones (a frame counts once either
            # way), but only where they point at a few moments of a reference: with a corner
            # painted over, a still background can look like every frame of a video.
            masked = video_index.query(
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
        for ref, off_bin, _ in best_offsets(
            frame_key[0], frame_key[1], MIN_VIDEO_FRAMES, MAX_OFFSETS_PER_REFERENCE
        ):
            # The strongest bin counts its neighbours' frames too, so the run is centred on
            # the median offset of the hits within a bin of it, not on the bin itself.
            mine = hits.ref_ids == ref
            around = offsets[mine & (np.abs(offsets - off_bin * step) <= step + 1e-6)]
            centre = float(np.median(around)) if len(around) else off_bin * step
            agree = mine & (np.abs(offsets - centre) <= VIDEO_TOLERANCE)
            elsewhere = int(np.count_nonzero(mine & (np.abs(offsets - centre) >= CENTRE_FAR)))
            together = hits.select(agree)
            q, off, r = together.query_times, offsets[agree], together.ref_times
            dist = together.distances
            for run in runs(q, VIDEO_MAX_GAP):
                times = np.unique(q[run])
                # The reference must advance with the query: a still picture held in the
                # query matches a few reference frames at many offsets, never a sequence.
                if len(times) < MIN_VIDEO_FRAMES or len(np.unique(r[run])) < MIN_VIDEO_FRAMES:
                    continue
                if not _verified(frames, mirrored, together.select(run), elsewhere):
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
    return dedupe(matches)
