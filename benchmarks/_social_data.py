"""The synthetic social graph of ``bench social``, written with PostgreSQL's COPY, not the API.

Accounts, follows, posts, videos, likes and comments, each popular in a power law (Zipf's: the
k-th most popular gets a share proportional to ``1 / k ** ZIPF``), as on a real platform where a
few creators hold most followers and a few posts most likes. Texts are drawn from a made-up
vocabulary, also Zipf-distributed, so that the benchmark has very common words (``VOCABULARY[0]``)
and rare ones. Counters are filled from the rows afterwards, as the services would have kept them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from control_plane.core.db import Database
from control_plane.videos.models import CATEGORIES

__all__ = ["FULL", "Built", "Scale", "VOCABULARY", "build", "described"]

ZIPF = 1.05
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "zo", "pe", "di", "fu", "ga", "ho", "ju")
#: 3,375 made-up words of three syllables; index 0 is the most frequent.
VOCABULARY = tuple(a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES)
TAGS = tuple(f"tag{w}" for w in VOCABULARY[:500])
START = datetime(2026, 1, 1, tzinfo=UTC)
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bench$bench"


@dataclass(frozen=True)
class Scale:
    users: int = 10_000
    follows: int = 500_000
    posts: int = 200_000
    videos: int = 50_000
    likes: int = 1_000_000
    comments: int = 100_000

    def times(self, factor: float) -> Scale:
        return Scale(**{f.name: max(20, int(getattr(self, f.name) * factor)) for f in fields(self)})


FULL = Scale()


@dataclass(frozen=True)
class Built:
    """What the run needs to know of the data: ids, the most followed account, the busiest video."""

    user_ids: list[str]
    post_ids: list[str]
    video_ids: list[str]
    star: str  # the most followed username
    busiest_video: str
    seconds: float


def _zipf_weights(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** ZIPF
    return weights / weights.sum()


def _pairs(rng: np.random.Generator, left: int, right: int, count: int, popular_right: bool) -> np.ndarray:
    """``count`` distinct (left, right) index pairs (at most half of all there are, on a tiny
    scale); right chosen by popularity if asked."""
    count = min(count, left * right // 2)
    found = np.empty((0, 2), dtype=np.int64)
    weights = _zipf_weights(right) if popular_right else None
    while len(found) < count:
        need = int((count - len(found)) * 1.3) + 100
        batch = np.stack([rng.integers(0, left, need), rng.choice(right, need, p=weights)], axis=1)
        found = np.unique(np.concatenate([found, batch]), axis=0)
    return found[rng.permutation(len(found))[:count]]


def _words(rng: np.random.Generator, count: int, per: int) -> list[str]:
    picks = rng.choice(len(VOCABULARY), (count, per), p=_zipf_weights(len(VOCABULARY)))
    return [" ".join(VOCABULARY[i] for i in row) for row in picks]


def _copy(conn: Any, table: str, columns: str, rows: Iterable[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _ids(n: int, prefix: str) -> list[str]:
    return [f"{prefix}{i:0{32 - len(prefix)}x}" for i in range(n)]


def _stamp(rng: random.Random) -> datetime:
    return START + timedelta(seconds=rng.randrange(0, 180 * 86400))


def build(db: Database, scale: Scale, *, seed: int = 14) -> Built:
    """Fill an empty, migrated PostgreSQL database; returns what the measurements need."""
    started = datetime.now(UTC)
    rng, pick = np.random.default_rng(seed), random.Random(seed)
    users, posts, videos = _ids(scale.users, "u"), _ids(scale.posts, "p"), _ids(scale.videos, "v")
    raw = db.engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        _copy(
            conn,
            "users",
            "id, username, username_key, email, password_hash, role, is_active, created_at",
            (
                (u, f"user{i}", f"user{i}", f"user{i}@bench.test", DUMMY_HASH, "creator", True, START)
                for i, u in enumerate(users)
            ),
        )
        owners = rng.choice(scale.users, scale.videos, p=_zipf_weights(scale.users))
        titles = _words(rng, scale.videos, 4)
        categories = rng.choice(len(CATEGORIES), scale.videos)
        _copy(
            conn,
            "videos",
            "id, owner_id, title, status, visibility, progress, category, published_at, created_at, "
            "updated_at",
            (
                (v, users[o], t, "ready", "public" if i % 10 else "private", 1.0, CATEGORIES[c], s, s, s)
                for i, (v, o, t, c) in enumerate(zip(videos, owners, titles, categories, strict=True))
                for s in (_stamp(pick),)
            ),
        )
        # About two catalogue tags a video, popular tags more often (the catalogue's and search's).
        video_tags = _pairs(rng, scale.videos, len(TAGS), 2 * scale.videos, True)
        _copy(
            conn,
            "video_tags",
            "video_id, tag, position",
            ((videos[v], TAGS[t], 0) for v, t in np.unique(video_tags, axis=0)),
        )
        authors = rng.choice(scale.users, scale.posts, p=_zipf_weights(scale.users))
        texts = _words(rng, scale.posts, 12)
        stamps = [_stamp(pick) for _ in posts]
        tagged = {
            i: TAGS[int(t)]
            for i, t in enumerate(rng.choice(len(TAGS), scale.posts, p=_zipf_weights(len(TAGS))))
            if i % 5 == 0
        }
        _copy(
            conn,
            "posts",
            "id, author_id, text, likes, reposts, replies, created_at",
            (
                (p, users[a], t + (f" #{tagged[i]}" if i in tagged else ""), 0, 0, 0, s)
                for i, (p, a, t, s) in enumerate(zip(posts, authors, texts, stamps, strict=True))
            ),
        )
        _copy(
            conn,
            "post_tags",
            "post_id, tag, name, author_id, created_at",
            ((posts[i], tag, tag, users[authors[i]], stamps[i]) for i, tag in tagged.items()),
        )
        _copy(
            conn,
            "follows",
            "follower_id, followee_id, created_at",
            _rows(
                _pairs(rng, scale.users, scale.users, scale.follows, True), users, users, pick, skip_self=True
            ),
        )
        video_likes = scale.likes // 5
        _copy(
            conn,
            "post_likes",
            "user_id, post_id, created_at",
            _rows(_pairs(rng, scale.users, scale.posts, scale.likes - video_likes, True), users, posts, pick),
        )
        _copy(
            conn,
            "video_likes",
            "user_id, video_id, created_at",
            _rows(_pairs(rng, scale.users, scale.videos, video_likes, True), users, videos, pick),
        )
        on = rng.choice(scale.videos, scale.comments, p=_zipf_weights(scale.videos))
        words = _words(rng, scale.comments, 8)
        _copy(
            conn,
            "comments",
            "id, video_id, author_id, text, status, likes, replies, created_at",
            (
                (c, videos[v], users[int(rng.integers(scale.users))], w, "visible", 0, 0, _stamp(pick))
                for c, v, w in zip(_ids(scale.comments, "c"), on, words, strict=True)
            ),
        )
        conn.commit()
    finally:
        raw.close()
    _count(db)
    return described(db, scale, (datetime.now(UTC) - started).total_seconds())


def described(db: Database, scale: Scale, seconds: float = 0.0) -> Built:
    """What the measurements need of a database ``build`` filled at ``scale`` (the ids follow from
    the scale; the most followed account and the busiest video are looked up)."""
    with db.engine.connect() as conn:
        star = conn.exec_driver_sql(
            "SELECT u.username FROM channels c JOIN users u ON u.id = c.user_id "
            "ORDER BY c.followers DESC LIMIT 1"
        ).scalar_one()
        busiest = conn.exec_driver_sql(
            "SELECT id FROM videos WHERE visibility = 'public' ORDER BY comments DESC LIMIT 1"
        ).scalar_one()
    ids = (_ids(scale.users, "u"), _ids(scale.posts, "p"), _ids(scale.videos, "v"))
    return Built(*ids, star, busiest, seconds)


def _rows(
    pairs: np.ndarray, left: list[str], right: list[str], pick: random.Random, *, skip_self: bool = False
) -> Iterator[tuple[Any, ...]]:
    for a, b in pairs:
        if skip_self and a == b:
            continue
        yield left[a], right[b], _stamp(pick)


COUNTS = (
    "UPDATE posts SET likes = c.n FROM (SELECT post_id, count(*) n FROM post_likes GROUP BY post_id) c "
    "WHERE posts.id = c.post_id",
    "INSERT INTO hashtags (tag, name, posts, last_used_at) "
    "SELECT tag, tag, count(*), max(created_at) FROM post_tags GROUP BY tag",
    # An account's counts on its channel's row, a video's on its own row: where profiles and
    # videos read them (``ChannelService.add_counts``, ``VideoService.add_counts``).
    "INSERT INTO channels (user_id, followers, following, posts, updated_at) SELECT u.id, "
    "(SELECT count(*) FROM follows f WHERE f.followee_id = u.id), "
    "(SELECT count(*) FROM follows f WHERE f.follower_id = u.id), "
    "(SELECT count(*) FROM posts p WHERE p.author_id = u.id), u.created_at FROM users u",
    "UPDATE videos v SET "
    "likes = (SELECT count(*) FROM video_likes l WHERE l.video_id = v.id), "
    "comments = (SELECT count(*) FROM comments c WHERE c.video_id = v.id AND c.status = 'visible')",
    "ANALYZE",
)


def _count(db: Database) -> None:
    with db.engine.begin() as conn:
        for statement in COUNTS:
            conn.exec_driver_sql(statement)
