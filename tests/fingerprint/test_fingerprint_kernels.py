"""The compiled vote prefilter: same survivors as the numpy reference, same matches as before."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.signal import resample_poly

from fingerprint import (
    AudioIndex,
    AudioSignal,
    Hits,
    InvalidFingerprint,
    Landmarks,
    Matcher,
    MediaFingerprint,
    audio_shards,
    find_peaks,
)
from fingerprint.kernels import plausible_hits, plausible_mask
from fingerprint.matcher import SWEEP_SPEEDS


def planted_index(seed: int, refs: int = 30) -> tuple[AudioIndex, Landmarks]:
    """Random references, and a query that shares 12 landmarks with reference 7 at one offset
    and 9 (one short of 10) with reference 11 at another."""
    rng = np.random.default_rng(seed)
    index = AudioIndex()
    ref_lms = {}
    for ref in range(refs):
        n = 3000
        ref_lms[ref] = Landmarks(
            rng.integers(0, 2000, n).astype(np.uint32), np.sort(rng.integers(0, 40_000, n)).astype(np.int32)
        )
        index.add(ref * 5 + 1, ref_lms[ref])
    q_hashes = [rng.integers(0, 2000, 600)]
    q_times = [rng.integers(0, 1200, 600)]
    for ref, count, offset in ((7, 12, -5000), (11, 9, -20_000)):
        pick = rng.choice(3000, count, replace=False)
        q_hashes.append(ref_lms[ref].hashes[pick])
        q_times.append(ref_lms[ref].times[pick] + offset + rng.integers(-1, 2, count))
    times = np.concatenate(q_times)
    keep = times >= 0
    return index, Landmarks(np.concatenate(q_hashes)[keep].astype(np.uint32), times[keep].astype(np.int32))


def as_rows(hits: Hits) -> list[tuple[int, int, int]]:
    return sorted(zip(hits.ref_ids.tolist(), hits.query_times.tolist(), hits.ref_times.tolist(), strict=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kernel_survivors_equal_the_numpy_reference(seed):
    index, query = planted_index(seed)
    hits = index.query(query)
    slots = np.array([index._slot_of[int(r)] for r in hits.ref_ids.tolist()], np.int64)
    keep = plausible_mask(slots, hits.query_times.astype(np.int64) - hits.ref_times, 10)
    expected = sorted(
        zip(slots[keep].tolist(), hits.query_times[keep].tolist(), hits.ref_times[keep].tolist(), strict=True)
    )
    q_hashes, q_times = query.hashes.astype(np.int64), query.times.astype(np.int64)
    args = (index._starts, index._slots, index._times, q_hashes, q_times, 2000, 10)
    first = plausible_hits(*args)
    assert sorted(map(tuple, first.T.tolist())) == expected
    # The index's survivors are those, with the planted offset's hits and little else.
    (got,) = index.plausible([query], 10)
    assert set(as_rows(got)) == {(index._ref_table[s], q, t) for s, q, t in expected}
    assert {r for r, q, t in as_rows(got) if abs(q - t + 5000) <= 2} == {7 * 5 + 1}
    assert {(r, q, t) for r, q, t in as_rows(got) if abs(q - t + 5000) <= 2} == {
        (index._ref_table[s], q, t) for s, q, t in expected if abs(q - t + 5000) <= 2
    }
    assert len(got) == len(first[0]) < 0.05 * len(hits)


def test_kernel_grows_its_output_when_more_hits_survive():
    index, _ = planted_index(4)
    rng = np.random.default_rng(4)
    query = Landmarks(
        rng.integers(0, 2000, 3000).astype(np.uint32), rng.integers(0, 1200, 3000).astype(np.int32)
    )
    hits = index.query(query)
    assert len(hits) > 1 << 16
    (everything,) = index.plausible([query], 1)
    assert as_rows(everything) == as_rows(hits)


def test_kernel_skips_common_hashes_and_empty_queries():
    starts = np.array([0, 3, 3, 3000], np.uint32)
    slots = np.zeros(3000, np.uint32)
    times = np.zeros(3000, np.uint32)
    rows = plausible_hits(starts, slots, times, np.array([0, 2, 1]), np.array([5, 5, 5]), 2000, 1)
    assert rows.tolist() == [[0, 0, 0], [5, 5, 5], [0, 0, 0]]
    assert plausible_hits(starts, slots, times, np.zeros(0), np.zeros(0), 2000, 1).shape == (3, 0)


def test_sharded_plausible_hits_are_those_of_each_shard():
    index, query = planted_index(5)
    shards = audio_shards(shard_size=40)
    for ref in sorted(index.reference_ids):
        shards.add(ref, _landmarks_of(index, ref))
    assert len(shards.shard_numbers) > 1
    (got,) = shards.plausible([query], 10)
    (expected,) = index.plausible([query], 10)
    planted = {(r, q, t) for r, q, t in as_rows(expected) if abs(q - t + 5000) <= 2}
    assert planted and planted <= set(as_rows(got))
    assert {r for r, q, t in as_rows(got) if abs(q - t + 5000) <= 2} == {36}


def _landmarks_of(index: AudioIndex, ref: int) -> Landmarks:
    index._flush()
    slot = index._slot_of[ref]
    hashes = index._hashes()
    mine = index._slots == slot
    return Landmarks(hashes[mine], index._times[mine].astype(np.int32))


class QueryOnly:
    """A hit source without the compiled prefilter (the matcher's numpy path)."""

    def __init__(self, index: AudioIndex) -> None:
        self.index = index

    def query(self, *args: Any) -> Hits:
        return self.index.query(*args)


@pytest.mark.parametrize(("ref_id", "start", "snr_db"), [(0, 20.0, None), (1, 63.3, 5.0), (0, 95.0, 10.0)])
def test_matches_are_those_of_the_numpy_prefilter(audio_matcher, music, kit, ref_id, start, snr_db):
    signal = music[kit.TRACKS[ref_id]]
    clip = kit.excerpt(signal, start, 10.0)
    if snr_db is not None:
        noise = np.random.default_rng(3).standard_normal(len(clip))
        clip = clip + noise * np.sqrt(np.mean(clip**2) / 10 ** (snr_db / 10))
    fp = MediaFingerprint(find_peaks(AudioSignal(clip.astype(np.float32), signal.rate)), None, 10.0)
    fast = audio_matcher.match(fp)
    assert fast and fast[0].reference_id == ref_id
    assert fast == Matcher(QueryOnly(audio_matcher.audio_index), None).match(fp)


@pytest.mark.parametrize(("up", "down"), [(200, 203), (80, 79)])
def test_the_speed_sweep_finds_what_every_factor_finds(audio_matcher, music, kit, up, down):
    """A copy at 1.5% faster (a factor) or 1.25% slower (between two) is queried at 1.0 and at
    the factor nearest its speed, and matched as when every factor is queried; an unaltered
    copy is queried at 1.0 alone."""
    speed = down / up
    clip = kit.excerpt(music[kit.TRACKS[1]], 41.0, 10.0)
    faster = resample_poly(clip, up, down).astype(np.float32)
    fp = MediaFingerprint(find_peaks(AudioSignal(faster, kit.RATE)), None, 10.0 / speed)
    tried = audio_matcher._speeds_to_try(fp)
    assert tried[0] == 1.0 and 2 <= len(tried) <= 1 + SWEEP_SPEEDS
    assert min(abs(s - speed) for s in tried[1:]) <= 0.0026
    swept = audio_matcher.match(fp)
    assert swept and swept[0].reference_id == 1
    assert swept == Matcher(audio_matcher.audio_index, None, speed_sweep=False).match(fp)
    plain = MediaFingerprint(find_peaks(AudioSignal(clip, kit.RATE)), None, 10.0)
    assert audio_matcher._speeds_to_try(plain) == (1.0,)


def test_sharded_strongest_is_the_largest_of_the_shards():
    index, query = planted_index(6)
    shards = audio_shards(shard_size=40)
    for ref in sorted(index.reference_ids):
        shards.add(ref, _landmarks_of(index, ref))
    per_shard = [shard.strongest([query])[0] for _, shard in shards]
    assert shards.strongest([query]) == [max(per_shard)]
    # The planted 12 hits of reference 7 at one offset (and its chance neighbours) are the most.
    assert max(per_shard) >= 12 and index.strongest([query])[0] >= 12
    assert audio_shards().strongest([query]) == [0]


def test_an_index_from_csr_postings_answers_like_the_one_they_came_from():
    index, query = planted_index(7, refs=12)
    index._flush()
    copy = AudioIndex.from_postings(index._starts, index._slots, index._times, index._ref_table)
    assert as_rows(copy.query(query)) == as_rows(index.query(query))
    assert copy.reference_ids == index.reference_ids and len(copy) == len(index)
    copy.add(1000, Landmarks(query.hashes, query.times))
    assert copy.strongest([query])[0] >= 255  # every landmark at offset 0; counters stop at 255
    with pytest.raises(InvalidFingerprint):
        AudioIndex.from_postings(index._starts[:-1], index._slots, index._times, index._ref_table)
    with pytest.raises(InvalidFingerprint):
        AudioIndex.from_postings(index._starts, index._slots, index._times, index._ref_table[:-1])
    with pytest.raises(InvalidFingerprint):
        AudioIndex.from_postings(index._starts, index._slots, index._times, [0] * len(index._ref_table))
