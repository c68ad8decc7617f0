"""The training set of the ranked feed's model, read from the platform's own interactions.

Positives are the likes, replies and reposts of the last ``days`` days (at most ``limit`` of the
newest, none of one's own posts): a reader interacted with a post at time ``t``. Each gets one
negative, a post the same reader did not interact with, made in the 48 h before ``t``: half the
time by an account they follow (what their feed showed), otherwise any. Features are those of
``control_plane.feed.model`` as they stood at ``t``: the post's age then, its engagement without
the interaction itself, the reader's other interactions with the author. One reader in five is
held out (by a hash of their id) to measure the model on readers it never saw.
"""

from __future__ import annotations

import bisect
import math
import random
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from control_plane.core.db import Database
from control_plane.feed.ranking import recency
from control_plane.social.models import Follow, Post, PostLike

__all__ = ["TrainingSet", "training_set"]

EXPOSURE = timedelta(hours=48)
#: What one interaction of each kind adds to a post's engagement (likes + 2·replies + 3·reposts).
WEIGHT = {"like": 1, "reply": 2, "repost": 3}
CHUNK = 5000


@dataclass(frozen=True)
class TrainingSet:
    x: np.ndarray
    y: np.ndarray
    #: True for the rows of held-out readers.
    held_out: np.ndarray


@dataclass(frozen=True)
class _Post:
    id: str
    author: str
    created: datetime
    engagement: int
    video: bool


def training_set(
    db: Database, now: datetime, *, days: int = 30, limit: int = 200_000, seed: int = 7
) -> TrainingSet:
    since = now - timedelta(days=days)
    rng = random.Random(seed)
    parent = aliased(Post)
    with db.session() as session:
        likes = session.execute(
            sa.select(PostLike.user_id, PostLike.post_id, PostLike.created_at, sa.literal("like"))
            .join(Post, Post.id == PostLike.post_id)
            .where(PostLike.created_at >= since, Post.author_id != PostLike.user_id)
            .order_by(PostLike.created_at.desc())
            .limit(limit)
        ).all()
        answers = session.execute(
            sa.select(
                Post.author_id,
                parent.id,
                Post.created_at,
                sa.case((Post.reply_to.is_not(None), sa.literal("reply")), else_=sa.literal("repost")),
            )
            .join(parent, parent.id == sa.func.coalesce(Post.reply_to, Post.repost_of))
            .where(Post.created_at >= since, parent.author_id != Post.author_id)
            .order_by(Post.created_at.desc())
            .limit(limit)
        ).all()
        positives = sorted([*likes, *answers], key=lambda r: r[2], reverse=True)[:limit]
        posts = {
            r.id: _Post(
                r.id,
                r.author_id,
                r.created_at,
                r.likes + 2 * r.replies + 3 * r.reposts,
                r.video_id is not None,
            )
            for r in session.execute(
                sa.select(
                    Post.id,
                    Post.author_id,
                    Post.created_at,
                    Post.likes,
                    Post.replies,
                    Post.reposts,
                    Post.video_id,
                ).where(Post.created_at >= since - EXPOSURE, Post.repost_of.is_(None))
            )
        }
        readers = sorted({r[0] for r in positives})
        follows: dict[str, set[str]] = defaultdict(set)
        for at in range(0, len(readers), CHUNK):
            for follower, followee in session.execute(
                sa.select(Follow.follower_id, Follow.followee_id).where(
                    Follow.follower_id.in_(readers[at : at + CHUNK])
                )
            ):
                follows[follower].add(followee)
    ordered = sorted(posts.values(), key=lambda p: p.created)
    timeline = ([p.created for p in ordered], ordered)
    by_author: dict[str, tuple[list[datetime], list[_Post]]] = {}
    for post in ordered:
        times, kept = by_author.setdefault(post.author, ([], []))
        times.append(post.created)
        kept.append(post)
    followed = {reader: sorted(accounts) for reader, accounts in follows.items()}
    touched = {(r[0], r[1]) for r in positives}
    pair_counts = Counter((r[0], posts[r[1]].author) for r in positives if r[1] in posts)

    rows: list[list[float]] = []
    labels: list[int] = []
    held: list[bool] = []

    def add(reader: str, post: _Post, at: datetime, label: int, own: int) -> None:
        affinity = pair_counts[(reader, post.author)] - (1 if label else 0)
        rows.append(
            [
                recency((at - post.created).total_seconds()),
                math.log1p(max(post.engagement - own, 0)),
                math.log1p(max(affinity, 0)),
                1.0 if post.author in follows[reader] else 0.0,
                1.0 if post.video else 0.0,
            ]
        )
        labels.append(label)
        held.append(zlib.crc32(reader.encode()) % 5 == 0)

    for reader, post_id, at, kind in positives:
        liked = posts.get(post_id)
        if liked is None:
            continue
        negative = _negative(rng, reader, at, followed.get(reader, []), by_author, timeline, touched)
        if negative is None:
            continue
        add(reader, liked, at, 1, WEIGHT[kind])
        add(reader, negative, at, 0, 0)
    return TrainingSet(
        x=np.asarray(rows, dtype=float).reshape(len(rows), 5),
        y=np.asarray(labels, dtype=int),
        held_out=np.asarray(held, dtype=bool),
    )


def _negative(
    rng: random.Random,
    reader: str,
    at: datetime,
    followed: list[str],
    by_author: dict[str, tuple[list[datetime], list[_Post]]],
    timeline: tuple[list[datetime], list[_Post]],
    touched: set[tuple[str, str]],
) -> _Post | None:
    """A post made in the 48 h before ``at`` that ``reader`` did not interact with: by an
    account they follow half the time, by anyone otherwise."""
    for _ in range(8):
        times, posts = timeline
        if followed and rng.random() < 0.5:
            times, posts = by_author.get(rng.choice(followed), ([], []))
        lo, hi = bisect.bisect_left(times, at - EXPOSURE), bisect.bisect_right(times, at)
        if hi <= lo:
            continue
        post = posts[rng.randrange(lo, hi)]
        if post.author != reader and (reader, post.id) not in touched:
            return post
    return None
