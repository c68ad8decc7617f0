"""Scoring candidates of the ranked feed, and keeping authors apart.

``score = 0.35·recency + 0.2·engagement + 0.2·affinity + 0.25·p`` where recency is the item's age
through a 6 h half-life, engagement (``likes + 2·replies + 3·reposts``; for a video ``likes +
2·comments``) and affinity (the reader's likes, replies and reposts of the author's posts in the
last 30 days) are ``log1p``-scaled and divided by the largest among the candidates, and ``p`` is
the learned model's probability that the reader interacts (``control_plane.feed.model``). Then no
author appears more than twice in a row (``diversify``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from control_plane.feed.model import FEATURES, HALF_LIFE_HOURS, Model
from control_plane.feed.views import Shown
from control_plane.social.models import Follow, Post, PostLike
from control_plane.videos.models import Video

__all__ = [
    "AFFINITY_AUTHORS",
    "AFFINITY_DAYS",
    "MAX_RUN",
    "WEIGHTS",
    "diversify",
    "features",
    "rank",
    "recency",
]

#: Weights of recency, engagement, affinity and the learned probability in the score.
WEIGHTS = (0.35, 0.2, 0.2, 0.25)
AFFINITY_DAYS = 30
#: Authors whose affinity is kept per reader, at most (those the reader interacts with most).
AFFINITY_AUTHORS = 1000
#: Items of one author in a row, at most.
MAX_RUN = 2


def recency(age_seconds: float) -> float:
    """``2 ** (-age_hours / 6)``: 1 for an item made now, ½ for one 6 h old."""
    return float(2.0 ** (-max(age_seconds, 0.0) / 3600.0 / HALF_LIFE_HOURS))


def affinity(
    session: Session, reader_id: str, authors: Sequence[str] | None, now: datetime
) -> dict[str, int]:
    """The reader's likes, replies and reposts of each author's posts in the last 30 days (of
    ``authors``; None: of every author, at most ``AFFINITY_AUTHORS``, the most interacted with)."""
    if authors is not None and not authors:
        return {}
    since = now - timedelta(days=AFFINITY_DAYS)
    parent = aliased(Post)
    liked = (
        sa.select(Post.author_id.label("author"))
        .join(PostLike, PostLike.post_id == Post.id)
        .where(PostLike.user_id == reader_id, PostLike.created_at >= since)
    )
    answered = (
        sa.select(parent.author_id.label("author"))
        .select_from(Post)
        .join(parent, parent.id == sa.func.coalesce(Post.reply_to, Post.repost_of))
        .where(Post.author_id == reader_id, Post.created_at >= since)
    )
    if authors is not None:
        liked = liked.where(Post.author_id.in_(list(authors)))
        answered = answered.where(parent.author_id.in_(list(authors)))
    both = sa.union_all(liked, answered).subquery()
    count = sa.func.count()
    query = sa.select(both.c.author, count).group_by(both.c.author)
    if authors is None:
        query = query.order_by(count.desc(), both.c.author).limit(AFFINITY_AUTHORS)
    return {author: int(n) for author, n in session.execute(query)}


def features(
    session: Session,
    reader_id: str,
    shown: Sequence[Shown],
    now: datetime,
    liked: dict[str, int] | None = None,
) -> np.ndarray:
    """The model's feature rows (``FEATURES`` order) of ``shown`` for the reader, at ``now``;
    ``liked``: the reader's affinity per author, when known already (else read here)."""
    post_ids = [s.subject.post_id for s in shown if s.subject.post_id and s.post is None]
    video_ids = [s.subject.video_id for s in shown if s.subject.video_id]
    posts = {
        s.post.id: (s.post.likes + 2 * s.post.replies + 3 * s.post.reposts, s.post.video_id is not None)
        for s in shown
        if s.post is not None
    }
    if post_ids:
        posts |= {
            r.id: (r.likes + 2 * r.replies + 3 * r.reposts, r.video_id is not None)
            for r in session.execute(
                sa.select(Post.id, Post.likes, Post.replies, Post.reposts, Post.video_id).where(
                    Post.id.in_(post_ids)
                )
            )
        }
    videos = {}
    if video_ids:
        videos = {
            r.id: int(r.likes + 2 * r.comments)
            for r in session.execute(
                sa.select(Video.id, Video.likes, Video.comments).where(Video.id.in_(video_ids))
            )
        }
    if liked is None:
        liked = affinity(session, reader_id, sorted({s.subject.author_id for s in shown}), now)
    unknown = sorted({s.subject.author_id for s in shown if s.author_followed is None})
    followed = {s.subject.author_id for s in shown if s.author_followed}
    if unknown:
        followed |= set(
            session.scalars(
                sa.select(Follow.followee_id).where(
                    Follow.follower_id == reader_id, Follow.followee_id.in_(unknown)
                )
            )
        )
    rows = []
    for s in shown:
        if s.subject.post_id is not None:
            engagement, video = posts.get(s.subject.post_id, (0, False))
        else:
            engagement, video = videos.get(s.subject.video_id or "", 0), True
        age = (now - s.share.created_at).total_seconds()
        rows.append(
            [
                recency(age),
                math.log1p(engagement),
                math.log1p(liked.get(s.subject.author_id, 0)),
                1.0 if s.subject.author_id in followed else 0.0,
                1.0 if video else 0.0,
            ]
        )
    return np.asarray(rows, dtype=float).reshape(len(rows), len(FEATURES))


def rank(shown: Sequence[Shown], x: np.ndarray, model: Model) -> list[Shown]:
    """``shown`` with their scores, best first, authors kept apart."""
    if not shown:
        return []
    r, e, a = x[:, 0], x[:, 1], x[:, 2]
    e = e / e.max() if e.max() > 0 else e
    a = a / a.max() if a.max() > 0 else a
    p = model.predict(x)
    w = WEIGHTS
    scores = w[0] * r + w[1] * e + w[2] * a + w[3] * p
    order = sorted(range(len(shown)), key=lambda i: (-scores[i], -shown[i].share.seq))
    scored = [
        Shown(s.subject, s.share, round(float(scores[i]), 6), s.post, s.author_followed, s.loaded)
        for i in order
        for s in (shown[i],)
    ]
    return diversify(scored, lambda s: s.subject.author_id)


def diversify(
    items: Sequence[Shown], author_of: Callable[[Shown], str], max_run: int = MAX_RUN
) -> list[Shown]:
    """``items`` in their order, except that an item whose author already has ``max_run`` items
    just above waits for the next item of another author (when none is left, it follows)."""
    out: list[Shown] = []
    pending = list(items)
    while pending:
        for i, item in enumerate(pending):
            tail = out[-max_run:]
            if len(tail) < max_run or any(author_of(t) != author_of(item) for t in tail):
                out.append(pending.pop(i))
                break
        else:
            out.append(pending.pop(0))
    return out
