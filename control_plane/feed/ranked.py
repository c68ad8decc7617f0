"""The ``ranked`` feed: candidates scored and ordered once, then served page by page from that
order, so that scrolling neither repeats nor skips an item while scores move.

Candidates are the newest ``candidates`` items of the reader's ``following`` feed (timeline and
pulled authors, already checked) and up to ``DISCOVERED`` popular posts of the last two days by
accounts followed by accounts the reader follows. The first page ranks them
(``control_plane.feed.ranking``) and keeps the order in the key-value store for ``ttl`` seconds
under a random token, which the cursor carries with the offset reached; later pages read that
order and check each item again (deleted, hidden, no longer public or watchable, held for
review), so what vanished meanwhile
is left out. A cursor whose order expired is refused (422): start again without it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import Database, utcnow
from control_plane.core.kv import KeyValue
from control_plane.feed.following import FollowingFeed, held_from, public_videos
from control_plane.feed.items import followees
from control_plane.feed.model import Model
from control_plane.feed.models import FeedItem
from control_plane.feed.ranking import features, rank
from control_plane.feed.views import Shown
from control_plane.http.pagination import InvalidCursor
from control_plane.social.audience import hidden_from
from control_plane.social.models import Follow, Post

__all__ = ["DISCOVERED", "RankedFeed"]

#: Posts found through the accounts the reader follows, at most, and how far back.
DISCOVERED = 50
DISCOVER_WINDOW = timedelta(hours=48)
#: Accounts the reader follows whose own follows are looked through, and the accounts found, at most.
DISCOVER_VIA = 50
DISCOVER_AUTHORS = 500
#: Seconds the oldest item seq of the discovery window is kept.
HORIZON_TTL = 300.0


class RankedFeed:
    def __init__(
        self,
        db: Database,
        following: FollowingFeed,
        kv: KeyValue,
        model: Callable[[], Model],
        *,
        candidates: int,
        ttl: float,
    ) -> None:
        self.db = db
        self.following = following
        self.kv = kv
        self.model = model
        self.candidates = candidates
        self.ttl = ttl
        self._horizon: tuple[float, int] = (0.0, 0)
        self._lock = threading.Lock()

    def _key(self, user_id: str, token: str) -> str:
        return f"feed:ranked:{user_id}:{token}"

    def page(
        self,
        session: Session,
        user_id: str,
        token: str | None,
        offset: int,
        limit: int,
        *,
        watchable: sa.ColumnElement[bool] | None = None,
    ) -> tuple[list[Shown], str, int | None]:
        """Items ``offset`` to ``offset + limit`` of the reader's ranked order (``token``; None:
        rank now), the order's token and the next offset (None at the end); videos only those
        ``watchable`` (an SQL condition over ``videos``) lets through."""
        if token is None:
            order = self._rank(session, user_id, watchable)
            token = secrets.token_urlsafe(9)
            payload = [[s.subject.seq, s.share.seq, s.score] for s in order]
            self.kv.set(self._key(user_id, token), json.dumps(payload).encode(), ttl=self.ttl)
            shown = order[offset : offset + limit]  # checked a moment ago
        else:
            raw = self.kv.get(self._key(user_id, token))
            if raw is None:
                raise InvalidCursor("This ranked feed's order has expired; start again without a cursor.")
            payload = json.loads(raw)
            shown = self._recheck(session, user_id, payload[offset : offset + limit], watchable)
        following = offset + limit
        return shown, token, following if following < len(payload) else None

    def _rank(self, session: Session, user_id: str, watchable: sa.ColumnElement[bool] | None) -> list[Shown]:
        followed, _ = self.following.page(session, user_id, None, self.candidates, watchable=watchable)
        found = self._discover(session, user_id, {s.subject.seq for s in followed})
        candidates = followed + found
        x = features(session, user_id, candidates, utcnow())
        return rank(candidates, x, self.model())

    def _window_start(self) -> int:
        """The seq of the oldest item made in the discovery window (cached)."""
        with self._lock:
            read_at, seq = self._horizon
            if time.monotonic() - read_at < HORIZON_TTL:
                return seq
            with self.db.session() as session:
                found = session.scalar(
                    sa.select(sa.func.min(FeedItem.seq)).where(
                        FeedItem.created_at >= utcnow() - DISCOVER_WINDOW
                    )
                )
            seq = int(found) if found is not None else 2**62
            self._horizon = (time.monotonic(), seq)
            return seq

    def _discover(self, session: Session, user_id: str, known: set[int]) -> list[Shown]:
        """Popular recent posts by accounts that the accounts the reader follows follow."""
        via = list(
            session.scalars(
                sa.select(Follow.followee_id)
                .where(Follow.follower_id == user_id)
                .order_by(Follow.created_at.desc())
                .limit(DISCOVER_VIA)
            )
        )
        if not via:
            return []
        authors = (
            sa.select(Follow.followee_id)
            .where(
                Follow.follower_id.in_(via),  # a list: each of their follows is read by its index
                Follow.followee_id != user_id,
                Follow.followee_id.not_in(followees(user_id)),
                Follow.followee_id.not_in(hidden_from(user_id)),
            )
            .distinct()
            .limit(DISCOVER_AUTHORS)
        )
        query = (
            sa.select(FeedItem, Post)
            .join(Post, Post.id == FeedItem.post_id)
            .where(
                FeedItem.author_id.in_(authors.scalar_subquery()),
                FeedItem.seq >= self._window_start(),
                FeedItem.subject_seq == FeedItem.seq,
                FeedItem.reply_to_author_id.is_(None),
                Post.reply_to.is_(None),
                Post.held.is_(False),
            )
            .order_by((Post.likes + 2 * Post.replies + 3 * Post.reposts).desc(), FeedItem.seq.desc())
            .limit(DISCOVERED)
        )
        items = [(row[0], row[1]) for row in session.execute(query)]
        return [
            Shown(subject=i, share=i, post=p, author_followed=False) for i, p in items if i.seq not in known
        ]

    def _recheck(
        self,
        session: Session,
        user_id: str,
        chosen: list[list[Any]],
        watchable: sa.ColumnElement[bool] | None = None,
    ) -> list[Shown]:
        """The items of a stored order that still exist and that the reader may still see."""
        seqs = {int(c[0]) for c in chosen} | {int(c[1]) for c in chosen}
        if not seqs:
            return []
        found = session.execute(
            sa.select(FeedItem, Post)
            .outerjoin(Post, Post.id == FeedItem.post_id)
            .where(FeedItem.seq.in_(list(seqs)))
        )
        rows, posts = {}, {}
        for item, post in found:
            rows[item.seq] = item
            if post is not None:
                posts[post.id] = post
        hidden = set(session.scalars(hidden_from(user_id)))
        public = public_videos(session, [i.video_id for i in rows.values() if i.video_id], watchable)
        out = []
        for subject_seq, share_seq, score in chosen:
            subject, share = rows.get(int(subject_seq)), rows.get(int(share_seq))
            if subject is None or share is None or {subject.author_id, share.author_id} & hidden:
                continue
            if subject.video_id is not None and subject.video_id not in public:
                continue
            if held_from(posts.get(subject.post_id or ""), user_id):
                continue
            out.append(
                Shown(subject=subject, share=share, score=score, post=posts.get(subject.post_id or ""))
            )
        return out
