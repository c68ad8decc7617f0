"""Merging audio and video evidence, and the 7-second claim rule."""

from __future__ import annotations

import numpy as np
import pytest

from fingerprint import (
    CLAIM_MIN_SECONDS,
    FrameHashes,
    Match,
    Matcher,
    MediaFingerprint,
    VideoIndex,
    claims,
    merge,
)
from fingerprint.matcher import _credible, _plausible


def m(ref: int, kind: str, q: float, r: float, d: float, score: float = 0.5) -> Match:
    return Match(reference_id=ref, kind=kind, query_start=q, reference_start=r, duration=d, score=score)  # type: ignore[arg-type]


def test_claim_needs_more_than_seven_seconds():
    assert CLAIM_MIN_SECONDS == 7.0
    assert claims([m(1, "audio", 0, 10, 7.0)]) == []
    assert claims([m(1, "audio", 0, 10, 7.01)]) == [m(1, "audio", 0, 10, 7.01)]


def test_overlapping_audio_and_video_of_one_reference_merge():
    audio = m(3, "audio", 10.0, 40.0, 5.0, score=0.2)
    video = m(3, "video", 12.5, 42.4, 6.0, score=0.9)
    (joined,) = merge([audio, video])
    assert joined.kind == "video"  # the longer evidence names the kind
    assert joined.query_start == 10.0 and joined.duration == pytest.approx(8.5)
    assert joined.reference_start == pytest.approx(10.0 - video.offset)
    assert joined.score == 0.9
    assert claims([audio, video]) == [joined]


def test_different_offsets_or_references_stay_apart():
    a = m(3, "audio", 0.0, 100.0, 8.0)
    later_use = m(3, "audio", 4.0, 20.0, 8.0)  # same reference, other part of it
    other_ref = m(4, "video", 0.0, 100.0, 8.0)
    assert sorted(merge([a, later_use, other_ref]), key=lambda x: (x.reference_id, x.reference_start)) == [
        later_use,
        a,
        other_ref,
    ]


def test_chains_of_pieces_merge_transitively():
    pieces = [m(1, "audio", 0.0, 50.0, 3.0), m(1, "video", 6.0, 56.0, 3.0), m(1, "audio", 2.5, 52.5, 4.0)]
    (joined,) = merge(pieces)
    assert joined.query_start == 0.0 and joined.duration == 9.0 and joined.reference_start == 50.0


def test_as_dict_has_the_claim_fields_as_plain_numbers():
    row = m(2, "audio", 1.23456, 2.0, 8.0, 0.333333).as_dict()
    assert row == {
        "reference_id": 2,
        "kind": "audio",
        "query_start": 1.235,
        "reference_start": 2.0,
        "duration": 8.0,
        "score": 0.333,
    }


def test_video_alignment_with_a_large_reference_id():
    """Twenty distinct frames 0.5 s apart, found 3 s into a query: exact starts and duration."""
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 256, (20, 8)).astype(np.uint8)
    times = np.arange(20) * 0.5
    index = VideoIndex()
    index.add(1 << 35, FrameHashes(hashes, hashes.copy(), times))
    query = MediaFingerprint(
        peaks=None, frames=FrameHashes(hashes, hashes.copy(), times + 3.0), duration=13.0
    )
    (found,) = Matcher(None, index).match(query)
    assert (found.reference_id, found.kind) == (1 << 35, "video")
    assert (found.query_start, found.reference_start, found.duration, found.score) == (3.0, 0.0, 10.0, 1.0)
    assert (
        Matcher(None, index).match(
            MediaFingerprint(peaks=None, frames=FrameHashes(hashes[:4], hashes[:4], times[:4]), duration=2.0)
        )
        == []
    )


def test_plausible_keeps_every_hit_near_a_strong_offset():
    """The linear prefilter never drops a hit within 2 frames of an offset with 10 votes."""
    rng = np.random.default_rng(8)
    refs = rng.integers(0, 40, 20_000).astype(np.int64) * 1_000_003
    offsets = rng.integers(-50_000, 50_000, 20_000)
    strong = np.repeat([[7 * 1_000_003, 1234], [3 * 1_000_003, -77]], [9, 10], axis=0)
    strong[:, 1] += rng.integers(-1, 2, len(strong))
    refs, offsets = np.concatenate([refs, strong[:, 0]]), np.concatenate([offsets, strong[:, 1]])
    keep = _plausible(refs, offsets, 10)
    near = np.zeros(len(refs), bool)
    for ref in np.unique(refs):
        mine = refs == ref
        for off in np.unique(offsets[mine]):
            if np.count_nonzero(mine & (np.abs(offsets - off) <= 1)) >= 10:
                near |= mine & (np.abs(offsets - off) <= 2)
    assert near.sum() >= 10 and np.all(keep[near])
    assert keep.mean() < 0.2


@pytest.mark.parametrize(
    ("votes", "seconds", "credible"),
    [(9, 5.0, False), (40, 2.9, False), (10, 3.3, True), (12, 5.0, False), (14, 9.0, True), (30, 4.0, True)],
)
def test_audio_runs_need_votes_length_and_density(votes, seconds, credible):
    assert _credible(votes, seconds) is credible
