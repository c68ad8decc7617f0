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
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.core.db import Database, utcnow
from control_plane.core.kv import KeyValue
from control_plane.feed.following import FollowingFeed, held_from
from control_plane.feed.items import followees
from control_plane.feed.model import Model
from control_plane.feed.models import FeedItem
from control_plane.feed.ranking import affinity, features, rank
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
#: Seconds a reader's discovered candidates (checked again on every read) and their affinity
#: per author are kept in the key-value store.
DISCOVER_TTL = 300.0
AFFINITY_TTL = 600.0


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
        found = self._discovered(session, user_id, {s.subject.seq for s in followed}, watchable)
        candidates = followed + found
        now = utcnow()
        x = features(session, user_id, candidates, now, liked=self._affinity(session, user_id, now))
        return rank(candidates, x, self.model())

    def _affinity(self, session: Session, user_id: str, now: datetime) -> dict[str, int]:
        """The reader's affinity per author (``ranking.affinity``), kept ``AFFINITY_TTL`` s in
        the key-value store: it moves with the reader's likes, replies and reposts over 30
        days, not from one read to the next."""
        key = f"feed:affinity:{user_id}"
        raw = self.kv.get(key)
        if raw is not None:
            return dict(json.loads(raw))
        liked = affinity(session, user_id, None, now)
        self.kv.set(key, json.dumps(liked).encode(), ttl=AFFINITY_TTL)
        return liked

    def _discovered(
        self, session: Session, user_id: str, known: set[int], watchable: sa.ColumnElement[bool] | None
    ) -> list[Shown]:
        """The discovered candidates (``_discover``, kept ``DISCOVER_TTL`` s per reader in the
        key-value store), checked now with the page's own statement: gone, hidden, held for
        review, no longer public are left out."""
        key = f"feed:discover:{user_id}"
        raw = self.kv.get(key)
        if raw is not None:
            seqs = [int(s) for s in json.loads(raw)]
        else:
            seqs = self._discover(session, user_id)
            self.kv.set(key, json.dumps(seqs).encode(), ttl=DISCOVER_TTL)
        seqs = [s for s in seqs if s not in known]
        loaded = self.following.items.rows(session, seqs, user_id, watchable=watchable)
        out = []
        for seq in seqs:
            found = loaded.get(seq)
            if found is None or found.post is None or found.author_hidden or held_from(found.post, user_id):
                continue
            out.append(
                Shown(
                    subject=found.item,
                    share=found.item,
                    post=found.post,
                    author_followed=found.author_followed,
                    loaded=found,
                )
            )
        return out

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

    def _discover(self, session: Session, user_id: str) -> list[int]:
        """The seqs of popular recent posts by accounts that the accounts the reader follows
        follow, most engaging first."""
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
            sa.select(FeedItem.seq)
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
        return [int(seq) for seq in session.scalars(query)]

    def _recheck(
        self,
        session: Session,
        user_id: str,
        chosen: list[list[Any]],
        watchable: sa.ColumnElement[bool] | None = None,
    ) -> list[Shown]:
        """The items of a stored order that still exist and that the reader may still see (one
        statement, the following feed's own)."""
        seqs = {int(c[0]) for c in chosen} | {int(c[1]) for c in chosen}
        loaded = self.following.items.rows(session, seqs, user_id, watchable=watchable)
        out = []
        for subject_seq, share_seq, score in chosen:
            subject, share = loaded.get(int(subject_seq)), loaded.get(int(share_seq))
            if subject is None or share is None or subject.author_hidden or share.author_hidden:
                continue
            if subject.item.video_id is not None and (subject.video is None or not subject.video.shown):
                continue
            if held_from(subject.post, user_id):
                continue
            out.append(
                Shown(subject=subject.item, share=share.item, score=score, post=subject.post, loaded=subject)
            )
        return out
