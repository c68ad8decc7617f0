"""One contract for both timeline stores (in-process, Redis), and what a Redis timeline costs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from control_plane.feed.stores import MemoryTimelines, RedisTimelines, TimelineStore


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[TimelineStore]:
    if request.param == "memory":
        yield MemoryTimelines(length=5, ttl=60)
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"test:feed:{uuid.uuid4().hex}:"
    try:
        yield RedisTimelines(client, length=5, ttl=60, prefix=prefix)
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


def test_a_missing_timeline_is_not_made_by_pushes_or_merges(store: TimelineStore) -> None:
    assert store.read("ada", None, 10) is None
    assert store.push(["ada", "bob"], (7, 7)) == 0
    assert store.merge("ada", [(8, 8)]) is False
    assert store.read("ada", None, 10) is None and store.size("ada") == 0


def test_an_empty_timeline_exists(store: TimelineStore) -> None:
    store.fill("ada", [])
    part = store.read("ada", None, 10)
    assert part is not None and part.entries == [] and part.size == 0 and not part.older
    assert store.push(["ada"], (3, 3)) == 1
    assert store.read("ada", None, 10).entries == [(3, 3)]  # type: ignore[union-attr]


def test_entries_newest_first_below_a_score_trimmed_to_length(store: TimelineStore) -> None:
    store.fill("ada", [(s, s) for s in range(1, 9)])  # 8 entries, length 5: the 5 newest stay
    part = store.read("ada", None, 10)
    assert part is not None and part.entries == [(8, 8), (7, 7), (6, 6), (5, 5), (4, 4)] and part.size == 5
    assert part.older  # what was trimmed is in the database only
    assert store.read("ada", 7, 2).entries == [(6, 6), (5, 5)]  # type: ignore[union-attr]
    assert store.push(["ada", "nobody"], (20, 20)) == 1
    assert store.read("ada", None, 1).entries == [(20, 20)]  # type: ignore[union-attr]
    assert store.size("ada") == 5  # the oldest went


def test_a_timeline_remembers_that_older_entries_were_left_out(store: TimelineStore) -> None:
    store.fill("ada", [(1, 1), (2, 2)], older=True)  # built from a full page of the database
    assert store.read("ada", None, 10).older  # type: ignore[union-attr]
    store.fill("bob", [(s, s) for s in range(1, 6)])
    assert not store.read("bob", None, 10).older  # type: ignore[union-attr]
    store.remove("bob", [5])
    store.push(["bob"], (6, 6))
    assert not store.read("bob", None, 10).older  # type: ignore[union-attr]
    store.push(["bob"], (7, 7))  # six entries: the oldest goes
    part = store.read("bob", None, 10)
    assert part is not None and part.older and part.size == 5
    store.remove("bob", [7, 6])  # fewer again, yet older ones are still only in the database
    assert store.read("bob", None, 10).older  # type: ignore[union-attr]


def test_a_subject_is_held_once_at_its_newest_share(store: TimelineStore) -> None:
    store.fill("ada", [(3, 3), (4, 4)])
    store.push(["ada"], (3, 9))  # a repost of 3 moves it up
    store.push(["ada"], (3, 6))  # an older share does not move it back
    assert store.read("ada", None, 10).entries == [(3, 9), (4, 4)]  # type: ignore[union-attr]
    assert store.scores("ada", [3, 4, 5]) == {3: 9, 4: 4}
    store.remove("ada", [3])
    assert store.merge("ada", [(3, 3)]) is True
    assert store.read("ada", None, 10).entries == [(4, 4), (3, 3)]  # type: ignore[union-attr]
    store.drop("ada")
    assert store.read("ada", None, 10) is None


def test_a_timeline_is_read_with_others_at_once(store: TimelineStore) -> None:
    store.fill("ada", [(1, 1), (5, 5)])
    store.fill("star", [(3, 3), (7, 7)])
    part, others = store.read_with("ada", store, ["star", "nobody"], 6, 10)
    assert part is not None and part.entries == [(5, 5), (1, 1)]
    assert others[0] is not None and others[0].entries == [(3, 3)] and others[1] is None


def test_timelines_are_merged_at_once_and_cut_to_the_count(store: TimelineStore) -> None:
    """The page's read: the reader's and the pulled authors' entries merged newest first, only
    ``count`` of them, with those of the reader's own timeline marked; None whenever the caller
    must read them one by one (a timeline missing, or cut short while older shares exist)."""
    store.fill("ada", [(1, 1), (5, 5), (9, 9)])
    store.fill("star", [(3, 3), (7, 7), (8, 8)])
    store.fill("moon", [(2, 2), (6, 6)])
    merged = store.read_merged("ada", store, ["star", "moon"], None, 3)
    assert merged is not None and merged.entries == [(9, 9), (8, 8), (7, 7)]
    assert merged.from_timeline == {9} and merged.size == 3
    assert not merged.done  # ada's and star's have as many as asked: more may lie below
    below = store.read_merged("ada", store, ["star", "moon"], 6, 10)
    assert below is not None and below.entries == [(5, 5), (3, 3), (2, 2), (1, 1)] and below.done
    assert below.from_timeline == {5, 1}
    assert store.read_merged("ada", store, ["star", "nobody"], None, 4) is None
    store.fill("old", [(4, 4)], older=True)  # fewer than asked, and older ones in the database
    assert store.read_merged("ada", store, ["old"], None, 4) is None
    full = store.read_merged("ada", store, ["old"], None, 1)  # enough: nothing older is needed
    assert full is not None and full.entries == [(9, 9)]


def test_timelines_expire_unless_read() -> None:
    store = MemoryTimelines(length=5, ttl=1.0)  # room for a loaded machine's late wake-ups
    store.fill("ada", [(1, 1)])
    store.fill("bob", [(1, 1)])
    for _ in range(4):
        time.sleep(0.3)
        assert store.read("ada", None, 1) is not None  # each read renews it
    assert store.read("bob", None, 1) is None


def test_redis_timelines_expire_unless_read(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisTimelines(client, length=5, ttl=60, prefix=f"test:feed:{uuid.uuid4().hex}:")
    try:
        store.fill("ada", [(1, 1)])
        assert 0 < client.pttl(store.key("ada")) <= 60_000
        client.pexpire(store.key("ada"), 5)
        time.sleep(0.05)
        assert store.read("ada", None, 1) is None
    finally:
        client.delete(store.key("ada"))
        client.close()


def test_a_full_redis_timeline_costs_at_most_25_bytes_an_entry(redis_url: str) -> None:
    """The issue's budget: with ``zset-max-listpack-entries`` above the length (compose.yml sets
    1024), 400 entries of realistic seqs take at most 25 bytes each in Redis."""
    client = redis.Redis.from_url(redis_url)
    setting = "zset-max-listpack-entries"
    before = client.config_get(setting)[setting]
    store = RedisTimelines(client, length=400, ttl=60, prefix=f"test:feed:{uuid.uuid4().hex}:")
    try:
        client.config_set(setting, 1024)
        assert store.compact_encoding() is True
        base = 40_000_000
        store.fill("ada", [(base + 3 * i, base + 3 * i + (i % 7)) for i in range(450)])
        assert store.size("ada") == 400
        assert client.object("encoding", store.key("ada")) == b"listpack"
        per_entry = store.bytes_used("ada") / 400  # type: ignore[operator]
        assert per_entry <= 25, per_entry
    finally:
        client.config_set(setting, before)
        client.delete(store.key("ada"))
        client.close()
