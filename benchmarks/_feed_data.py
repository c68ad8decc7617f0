"""The synthetic platform of ``bench feed``, written with PostgreSQL's COPY, not the API.

A power-law follow graph (the k-th most followed account gets a share ``1 / k ** ZIPF`` of the
follows), a few stars with at least ``star_followers`` followers each, ``heavy_readers`` accounts
that follow ``heavy_follows`` accounts each; posts over the last ``DAYS`` days (5 % reposts, 5 %
replies), their ``feed_items`` (seq in time order, pulled above the threshold), and likes that
depend on what a ranked feed should learn: readers like their few favourite followees most, and
recent posts more than old ones. Half the accounts read their feed (``feed_readers``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from control_plane.core.db import Database

__all__ = ["FULL", "Built", "Scale", "build"]

ZIPF = 1.0
DAYS = 7
SETVAL = "SELECT setval(pg_get_serial_sequence('feed_items', 'seq'), (SELECT max(seq) FROM feed_items))"
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bench$bench"


@dataclass(frozen=True)
class Scale:
    users: int = 100_000
    follows: int = 5_000_000
    posts: int = 1_000_000
    likes: int = 500_000
    stars: int = 3
    star_followers: int = 50_000
    heavy_readers: int = 50
    heavy_follows: int = 2_000
    #: Share of the accounts that read their feed (fan-outs reach them).
    active: float = 0.5

    def times(self, factor: float) -> Scale:
        return Scale(
            users=max(200, int(self.users * factor)),
            follows=max(2_000, int(self.follows * factor)),
            posts=max(1_000, int(self.posts * factor)),
            likes=max(1_000, int(self.likes * factor)),
            stars=self.stars,
            star_followers=max(50, int(self.star_followers * factor)),
            heavy_readers=max(5, int(self.heavy_readers * min(1.0, factor * 4))),
            heavy_follows=min(self.heavy_follows, max(50, int(self.users * factor) // 3)),
            active=self.active,
        )


FULL = Scale()


@dataclass
class Built:
    """What the measurements need: ids, the graph and items in memory, the timings of the build."""

    users: list[str]
    followees: dict[int, np.ndarray]  # user index -> followee indices
    stars: list[int]
    heavy: list[int]
    active: np.ndarray  # bool per user
    #: Per item (index = seq - 1): author index, subject seq, reply-to author index or -1.
    author: np.ndarray
    subject: np.ndarray
    reply_to_author: np.ndarray
    seconds: float

    def follows(self, user: int) -> np.ndarray:
        return self.followees.get(user, np.empty(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.by_author: dict[int, np.ndarray] = {}


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** ZIPF
    return weights / weights.sum()


def _copy(conn: Any, table: str, columns: str, rows: Iterable[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _ids(n: int, prefix: str) -> list[str]:
    return [f"{prefix}{i:0{32 - len(prefix)}x}" for i in range(n)]


def _graph(rng: np.random.Generator, scale: Scale) -> np.ndarray:
    """Distinct (follower, followee) pairs, no self-follows."""
    n = scale.users
    follower = rng.integers(0, n, int(scale.follows * 1.15))
    followee = rng.choice(n, len(follower), p=_zipf(n))
    parts = [np.stack([follower, followee], axis=1)]
    for star in range(scale.stars):
        fans = rng.choice(n, min(n - 1, scale.star_followers), replace=False)
        parts.append(np.stack([fans, np.full(len(fans), star)], axis=1))
    for reader in range(n - scale.heavy_readers, n):
        picks = rng.choice(n, min(n - 1, scale.heavy_follows * 2), replace=False, p=_zipf(n))[
            : scale.heavy_follows
        ]
        parts.append(np.stack([np.full(len(picks), reader), picks], axis=1))
    pairs = np.concatenate(parts)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    keys = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([keys // n, keys % n], axis=1)


def build(db: Database, scale: Scale, *, push_max_followers: int, seed: int = 15) -> Built:
    """Fill an empty, migrated PostgreSQL database; ``push_max_followers`` decides which items
    are pushed (the hybrid's threshold)."""
    started = datetime.now(UTC)
    now = started
    rng, pick = np.random.default_rng(seed), random.Random(seed)
    n = scale.users
    users = _ids(n, "u")
    pairs = _graph(rng, scale)
    followers = np.bincount(pairs[:, 1], minlength=n)
    followees: dict[int, np.ndarray] = {}
    order = np.argsort(pairs[:, 0], kind="stable")
    sorted_pairs = pairs[order]
    bounds = np.searchsorted(sorted_pairs[:, 0], np.arange(n + 1))
    for u in range(n):
        if bounds[u + 1] > bounds[u]:
            followees[u] = sorted_pairs[bounds[u] : bounds[u + 1], 1]

    # posts, oldest first: seq = index + 1
    p = scale.posts
    activity = rng.permutation(_zipf(n) ** 0.5 / (_zipf(n) ** 0.5).sum())
    authors = rng.choice(n, p, p=activity)
    ages = np.sort(rng.uniform(0, DAYS * 86400, p))[::-1]
    stamps = [now - timedelta(seconds=float(a)) for a in ages]
    kind = rng.random(p)
    subject = np.arange(1, p + 1)
    reply_to = np.full(p, -1)
    reply_to_author = np.full(p, -1)
    repost_of = np.full(p, -1)
    taken: set[tuple[int, int]] = set()
    for i in range(1, p):
        if kind[i] < 0.05:  # a repost of an earlier original, once per reposter
            target = int(rng.integers(0, i))
            target = int(subject[target] - 1)
            if (target, int(authors[i])) not in taken and authors[target] != authors[i]:
                taken.add((target, int(authors[i])))
                repost_of[i] = target
                subject[i] = target + 1
        elif kind[i] < 0.10:
            target = int(rng.integers(0, i))
            if repost_of[target] < 0:
                reply_to[i] = target
                if authors[target] != authors[i]:
                    reply_to_author[i] = authors[target]
    posts = _ids(p, "p")

    # likes: mostly of favourite followees' posts, soon after they are made
    by_author: dict[int, list[int]] = defaultdict(list)
    for i in range(p):
        if repost_of[i] < 0:
            by_author[int(authors[i])].append(i)
    likes: set[tuple[int, int]] = set()
    like_rows: list[tuple[str, str, datetime]] = []
    readers = [u for u in followees if len(followees[u])]
    favourites = {u: rng.choice(followees[u], min(3, len(followees[u])), replace=False) for u in readers}
    attempts = 0
    while len(like_rows) < scale.likes and attempts < scale.likes * 4:
        attempts += 1
        u = readers[int(rng.integers(len(readers)))]
        pool_of = favourites[u] if rng.random() < 0.6 else followees[u]
        mine = by_author.get(int(pool_of[int(rng.integers(len(pool_of)))]))
        if not mine:
            continue
        post = mine[min(len(mine) - 1, int(len(mine) * (1 - rng.random() ** 3)))]  # recent ones more
        if (u, post) in likes:
            continue
        likes.add((u, post))
        at = min(now, stamps[post] + timedelta(hours=float(rng.exponential(3))))
        like_rows.append((users[u], posts[post], at))

    active = rng.random(n) < scale.active
    active[n - scale.heavy_readers :] = True
    raw = db.engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        _copy(
            conn,
            "users",
            "id, username, username_key, email, password_hash, role, is_active, created_at",
            (
                (
                    u,
                    f"user{i}",
                    f"user{i}",
                    f"user{i}@bench.test",
                    DUMMY_HASH,
                    "creator",
                    True,
                    now - timedelta(days=60),
                )
                for i, u in enumerate(users)
            ),
        )
        _copy(
            conn,
            "follows",
            "follower_id, followee_id, created_at",
            (
                (users[a], users[b], now - timedelta(days=30, seconds=pick.randrange(86400 * 20)))
                for a, b in pairs
            ),
        )
        _copy(
            conn,
            "posts",
            "id, author_id, text, reply_to, repost_of, likes, reposts, replies, created_at",
            (
                (
                    posts[i],
                    users[authors[i]],
                    "" if repost_of[i] >= 0 else f"post {i}",
                    posts[reply_to[i]] if reply_to[i] >= 0 else None,
                    posts[repost_of[i]] if repost_of[i] >= 0 else None,
                    0,
                    0,
                    0,
                    stamps[i],
                )
                for i in range(p)
            ),
        )
        pushed = followers <= push_max_followers
        _copy(
            conn,
            "feed_items",
            "seq, post_id, subject_seq, author_id, reply_to_author_id, pushed, created_at",
            (
                (
                    i + 1,
                    posts[i],
                    int(subject[i]),
                    users[authors[i]],
                    users[reply_to_author[i]] if reply_to_author[i] >= 0 else None,
                    bool(pushed[authors[i]]),
                    stamps[i],
                )
                for i in range(p)
            ),
        )
        _copy(conn, "post_likes", "user_id, post_id, created_at", like_rows)
        _copy(
            conn,
            "feed_readers",
            "user_id, last_read_at",
            ((users[u], now) for u in np.flatnonzero(active)),
        )
        conn.commit()
    finally:
        raw.close()
    with db.engine.begin() as conn:
        for statement in (
            SETVAL,
            "UPDATE posts SET likes = c.n FROM (SELECT post_id, count(*) n FROM post_likes "
            "GROUP BY post_id) c WHERE posts.id = c.post_id",
            "UPDATE posts SET reposts = c.n FROM (SELECT repost_of, count(*) n FROM posts WHERE repost_of "
            "IS NOT NULL GROUP BY repost_of) c WHERE posts.id = c.repost_of",
            "UPDATE posts SET replies = c.n FROM (SELECT reply_to, count(*) n FROM posts WHERE reply_to "
            "IS NOT NULL GROUP BY reply_to) c WHERE posts.id = c.reply_to",
            # An account's counts live on its channel's row (``ChannelService.add_counts``).
            "INSERT INTO channels (user_id, followers, following, posts, updated_at) SELECT u.id, "
            "(SELECT count(*) FROM follows f WHERE f.followee_id = u.id), "
            "(SELECT count(*) FROM follows f WHERE f.follower_id = u.id), "
            "(SELECT count(*) FROM posts p WHERE p.author_id = u.id), u.created_at FROM users u",
            "ANALYZE",
        ):
            conn.exec_driver_sql(statement)
    built = Built(
        users=users,
        followees=followees,
        stars=list(range(scale.stars)),
        heavy=list(range(n - scale.heavy_readers, n)),
        active=active,
        author=authors,
        subject=subject,
        reply_to_author=reply_to_author,
        seconds=(datetime.now(UTC) - started).total_seconds(),
    )
    built.by_author = {a: np.asarray(v) + 1 for a, v in _seqs_by_author(authors).items()}
    return built


def _seqs_by_author(authors: np.ndarray) -> dict[int, list[int]]:
    """Each author's item indices, oldest first."""
    found: dict[int, list[int]] = defaultdict(list)
    for i, a in enumerate(authors):
        found[int(a)].append(i)
    return found
