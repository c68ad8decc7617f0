"""The audio and video indexes: postings, incremental adds, removal, persistence, sharding."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from fingerprint import (
    AudioIndex,
    DuplicateReference,
    FrameHashes,
    Hits,
    IndexCorrupt,
    InvalidFingerprint,
    Landmarks,
    ReferenceOutOfShard,
    ShardedIndex,
    VideoIndex,
    audio_shards,
    video_shards,
)


def random_landmarks(seed: int, n: int = 500, hash_range: int = 4000) -> Landmarks:
    rng = np.random.default_rng(seed)
    return Landmarks(
        rng.integers(0, hash_range, n).astype(np.uint32), np.sort(rng.integers(0, 10_000, n)).astype(np.int32)
    )


def brute_force(refs: dict[int, Landmarks], query: Landmarks) -> set[tuple[int, int, int]]:
    out = set()
    for ref_id, lm in refs.items():
        for h, qt in zip(query.hashes.tolist(), query.times.tolist(), strict=True):
            for rt in lm.times[lm.hashes == h].tolist():
                out.add((ref_id, rt, qt))
    return out


def as_set(hits: Hits) -> set[tuple[int, int, int]]:
    return set(zip(hits.ref_ids.tolist(), hits.ref_times.tolist(), hits.query_times.tolist(), strict=True))


def test_incremental_adds_query_like_brute_force():
    refs = {ref_id: random_landmarks(ref_id) for ref_id in range(6)}
    index = AudioIndex()
    query = random_landmarks(99, n=200)
    for ref_id, lm in refs.items():
        index.add(ref_id, lm)
        if ref_id % 2:
            assert as_set(index.query(query)) == brute_force({k: refs[k] for k in range(ref_id + 1)}, query)
    assert len(index) == 6 * 500
    assert as_set(index.query(query)) == brute_force(refs, query)
    every = np.sort(np.concatenate([lm.hashes for lm in refs.values()]))
    assert np.array_equal(index._hashes(), every)


def test_format_1_files_still_load_and_unknown_formats_ask_for_a_rebuild():
    refs = {4: random_landmarks(4), 11: random_landmarks(11)}
    hashes = np.concatenate([lm.hashes for lm in refs.values()])
    ids = np.concatenate([np.full(len(lm), r, np.int64) for r, lm in refs.items()])
    times = np.concatenate([lm.times for lm in refs.values()])
    order = np.argsort(hashes, kind="stable")
    buf = io.BytesIO()
    np.savez(
        buf,
        version=np.array([1]),
        hashes=hashes[order],
        refs=ids[order],
        times=times[order],
        ref_ids=np.array([4, 11, 20], np.int64),
    )
    loaded = AudioIndex.from_bytes(buf.getvalue())
    query = random_landmarks(5, n=300)
    assert as_set(loaded.query(query)) == brute_force(refs, query)
    assert loaded.reference_ids == {4, 11, 20}
    buf = io.BytesIO()
    np.savez(buf, version=np.array([9]), hashes=np.zeros(0, np.uint32))
    with pytest.raises(IndexCorrupt, match="socialflow fingerprint index"):
        AudioIndex.from_bytes(buf.getvalue())


def test_removed_slots_survive_save_load_and_re_add():
    index = AudioIndex()
    for ref_id in range(3):
        index.add(ref_id, random_landmarks(ref_id))
    index.remove(1)
    index.add(1, random_landmarks(21))
    loaded = AudioIndex.from_bytes(index.to_bytes())
    query = random_landmarks(6, n=300)
    expected = brute_force({0: random_landmarks(0), 1: random_landmarks(21), 2: random_landmarks(2)}, query)
    assert as_set(loaded.query(query)) == as_set(index.query(query)) == expected
    assert loaded.remove(0) and as_set(loaded.query(query)) == {t for t in expected if t[0] != 0}


def test_hashes_outside_the_hash_space_are_refused():
    index = AudioIndex()
    with pytest.raises(InvalidFingerprint):
        index.add(1, Landmarks(np.array([1 << 23], np.uint32), np.zeros(1, np.int32)))
    with pytest.raises(InvalidFingerprint):
        index.add(1, Landmarks(np.array([5], np.uint32), np.array([-1], np.int32)))
    assert 1 not in index


def test_remove_drops_only_that_reference():
    refs = {ref_id: random_landmarks(ref_id) for ref_id in range(4)}
    index = AudioIndex()
    for ref_id, lm in refs.items():
        index.add(ref_id, lm)
    assert index.remove(2) is True and index.remove(2) is False
    del refs[2]
    query = random_landmarks(50, n=300)
    assert as_set(index.query(query)) == brute_force(refs, query)
    assert index.reference_ids == {0, 1, 3} and 2 not in index
    index.add(2, random_landmarks(77))
    assert 2 in index


def test_duplicate_and_invalid_references_are_refused():
    index = AudioIndex()
    index.add(5, random_landmarks(1))
    with pytest.raises(DuplicateReference) as err:
        index.add(5, random_landmarks(2))
    assert err.value.code == "DUPLICATE_REFERENCE" and err.value.status == 409
    with pytest.raises(InvalidFingerprint):
        index.add(-1, random_landmarks(3))
    with pytest.raises(InvalidFingerprint):
        Landmarks(np.zeros(3, np.uint32), np.zeros(2, np.int32))


def test_save_load_round_trip_through_file_objects(tmp_path: Path):
    index = AudioIndex()
    for ref_id in (3, 9):
        index.add(ref_id, random_landmarks(ref_id))
    index.add(12, Landmarks(np.zeros(0, np.uint32), np.zeros(0, np.int32)))
    path = tmp_path / "audio.npz"
    with path.open("wb") as f:
        index.save(f)
    with path.open("rb") as f:
        loaded = AudioIndex.load(f)
    query = random_landmarks(5, n=300)
    assert as_set(loaded.query(query)) == as_set(index.query(query))
    assert loaded.reference_ids == {3, 9, 12} and len(loaded) == len(index)
    assert as_set(AudioIndex.from_bytes(index.to_bytes()).query(query)) == as_set(index.query(query))


@pytest.mark.parametrize("load", [AudioIndex.load, VideoIndex.load])
def test_corrupt_bytes_raise_index_corrupt(load):
    with pytest.raises(IndexCorrupt) as err:
        load(io.BytesIO(b"not an index at all"))
    assert err.value.code == "INDEX_CORRUPT"


def test_truncated_save_raises_index_corrupt():
    index = AudioIndex()
    index.add(1, random_landmarks(1))
    data = index.to_bytes()
    with pytest.raises(IndexCorrupt):
        AudioIndex.from_bytes(data[: len(data) // 2])


def test_sharded_index_routes_by_id_range_and_loads_shards_separately():
    sharded = audio_shards(shard_size=10)
    refs = {ref_id: random_landmarks(ref_id) for ref_id in (1, 4, 12, 25, 29)}
    for ref_id, lm in refs.items():
        sharded.add(ref_id, lm)
    assert sharded.shard_numbers == [0, 1, 2]
    assert sharded.shard(2).reference_ids == {25, 29}
    query = random_landmarks(42, n=300)
    assert as_set(sharded.query(query)) == brute_force(refs, query)

    saved = {}
    for number, _ in sharded:
        buf = io.BytesIO()
        sharded.save_shard(number, buf)
        saved[number] = buf.getvalue()
    partial = ShardedIndex(AudioIndex, AudioIndex.load, Hits.concat, shard_size=10)
    partial.load_shard(2, io.BytesIO(saved[2]))
    assert as_set(partial.query(query)) == brute_force({25: refs[25], 29: refs[29]}, query)
    assert 25 in partial and 1 not in partial
    with pytest.raises(ReferenceOutOfShard):
        partial.load_shard(0, io.BytesIO(saved[2]))
    assert sharded.remove(12) and not sharded.remove(12)
    assert sharded.reference_ids == {1, 4, 25, 29}


def frame_hashes(seed: int, n: int) -> FrameHashes:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 256, (n, 8)).astype(np.uint8)
    return FrameHashes(hashes, hashes[:, ::-1].copy(), np.arange(n) * 0.5)


def test_video_index_query_remove_and_round_trip():
    index = VideoIndex()
    a, b = frame_hashes(1, 20), frame_hashes(2, 30)
    index.add(7, a)
    index.add(1 << 30, b)
    assert len(index) == 50
    probe = a.hashes[[3, 4]].copy()
    probe[0, 0] ^= 0b111  # three bits off: still within the match radius
    hits = index.query(probe, np.array([10.0, 10.5]), radius=3)
    pairs = set(zip(hits.ref_ids.tolist(), hits.ref_times.tolist(), hits.query_times.tolist(), strict=True))
    assert {(7, 1.5, 10.0), (7, 2.0, 10.5)} <= pairs
    assert sorted(hits.distances[hits.ref_ids == 7].tolist()) == [0, 3]

    loaded = VideoIndex.from_bytes(index.to_bytes())
    again = loaded.query(probe, np.array([10.0, 10.5]), radius=3)
    assert np.array_equal(np.sort(again.ref_times), np.sort(hits.ref_times))
    assert loaded.reference_ids == {7, 1 << 30}

    assert loaded.remove(7) and not loaded.remove(7)
    assert len(loaded) == 30
    assert 7 not in set(loaded.query(probe, np.array([10.0, 10.5]), radius=64).ref_ids.tolist())
    sharded = video_shards(shard_size=100)
    sharded.add(7, a)
    sharded.add(150, b)
    assert set(sharded.query(b.hashes[:2], np.array([0.0, 0.5])).ref_ids.tolist()) == {150}
