"""Merging audio and video evidence, and the 7-second claim rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fingerprint import (
    CLAIM_MIN_SECONDS,
    AudioIndex,
    FrameHashes,
    Match,
    Matcher,
    MediaFingerprint,
    VideoIndex,
    claims,
    fingerprint_file,
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


def test_a_match_is_clipped_to_both_files():
    early = m(1, "video", 0.0, -0.5, 7.02)  # the frozen first frame matched half a second early
    assert early.within(8.5, 6.0) == m(1, "video", 0.5, 0.0, 6.0)
    assert early.within(None, None) == m(1, "video", 0.5, 0.0, 6.52)
    late = m(2, "audio", 3.0, 50.0, 9.0)
    assert late.within(10.0, 120.0) == m(2, "audio", 3.0, 50.0, 7.0)  # the query ends at 10 s
    assert late.within(20.0, 55.0) == m(2, "audio", 3.0, 50.0, 5.0)  # the reference ends at 55 s
    assert late.within(20.0, 120.0) is late
    assert m(3, "audio", 0.0, 60.0, 5.0).within(None, 59.0) is None  # wholly past the reference


def test_the_claim_rule_is_judged_on_the_clipped_length():
    crossing = m(1, "video", 0.0, -0.5, 7.02)
    assert claims([crossing]) == []  # no lengths known: time 0 alone leaves 6.52 s
    assert claims([m(1, "video", 0.0, 0.0, 7.02)], 8.545, {1: 6.037}) == []
    long = m(2, "audio", 2.0, -0.5, 9.0)
    assert claims([crossing, long], 30.0, {1: 6.037, 2: 60.0}) == [m(2, "audio", 2.5, 0.0, 8.5)]


def test_a_frozen_lead_in_does_not_stretch_a_six_second_reference_into_a_claim(
    kit, music_files: dict[str, Path], tmp_path: Path
):
    """Issue #13's case: a 6 s reference, and a copy that holds its first picture for 1 s before
    and its last for 1.5 s after. The frozen frames match the reference's first frame, so the
    video evidence starts half a second before the reference does and runs 7.02 s."""
    reference, copy = tmp_path / "reference.mp4", tmp_path / "copy.mp4"
    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
    kit.ffmpeg(
        "-ss", "30", "-t", "6", "-i", music_files["frontiers"],
        "-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=25", "-t", "6", *x264, reference,
    )  # fmt: skip
    kit.ffmpeg(
        "-i", reference,
        "-vf", "tpad=start_duration=1:start_mode=clone:stop_duration=1.5:stop_mode=clone",
        "-af", "adelay=1000:all=1,apad=pad_dur=1.5", *x264, copy,
    )  # fmt: skip
    ref_fp, copy_fp = fingerprint_file(reference), fingerprint_file(copy)
    audio, video = AudioIndex(), VideoIndex()
    audio.add(1, ref_fp.landmarks())
    video.add(1, ref_fp.frames)
    found = Matcher(audio, video).match(copy_fp)
    (evidence,) = merge(found)
    assert evidence.reference_start < 0 and evidence.duration > CLAIM_MIN_SECONDS  # as reported
    clipped = evidence.within(copy_fp.duration, ref_fp.duration)
    assert clipped is not None and clipped.reference_start == 0.0
    assert clipped.duration <= ref_fp.duration <= 6.1
    assert claims(found, copy_fp.duration, {1: ref_fp.duration}) == []
