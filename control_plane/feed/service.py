"""The feed's service: what the events hub tells it, the fan-out and training jobs, and the reads.

Writes: a post, repost, reply or public video is recorded as a ``feed_items`` row as soon as its
event arrives (so pulled readers and rebuilt timelines have it at once), then, for an author
with at most ``push_max_followers`` followers, a ``feed.fanout`` job pushes it into the
timelines of the followers who read their feed in the last ``active_days`` days, ``batch`` at a
time. A new follow merges the followee's recent items into the follower's timeline; a block
drops both timelines (rebuilt on their next read). Deletions need no event: an item goes with
its post or video, and reads leave out (and tidy away) entries whose item is gone.

Reads also leave out what the reader may not see today but may later: a video geofenced in the
reader's country or age-restricted for them (the *screens* registered with ``on_screen``), and a
post held for review by the moderators (shown to its author only, and to all once released).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

import sqlalchemy as sa

from control_plane.core.db import Database, utcnow
from control_plane.core.kv import KeyValue
from control_plane.feed.following import FollowingFeed
from control_plane.feed.items import ItemIndex
from control_plane.feed.metrics import FANOUT_LAG, FANOUT_WRITES, READS
from control_plane.feed.model import MODEL_KEY, Model, fit
from control_plane.feed.models import FeedItem, FeedReader
from control_plane.feed.ranked import RankedFeed
from control_plane.feed.schemas import FeedEntry
from control_plane.feed.stores import TimelineStore
from control_plane.feed.training import training_set
from control_plane.feed.views import entries
from control_plane.http.pagination import InvalidCursor, PageParams, decode_cursor, encode_cursor
from control_plane.social.audience import Viewer
from control_plane.social.counters import upsert
from control_plane.social.events import PostCreated, UserBlocked, UserFollowed
from control_plane.social.models import Follow
from control_plane.videos.events import VideoPublished
from control_plane.videos.models import Video
from storage import BlobStore
from storage.errors import BlobNotFound

__all__ = ["Algorithm", "FeedService"]

log = logging.getLogger(__name__)

Algorithm = Literal["following", "ranked"]
#: A reader's activity is written at most this often (seconds).
SEEN_EVERY = 3600.0
#: Seconds the model read from the blob store is kept before it is read again.
MODEL_TTL = 300.0
#: Interactions below which ``feed.train`` keeps the model it has.
MIN_SAMPLES = 100
MAX_OFFSET = 10_000
#: Readers whose last recorded read this process remembers, at most.
MAX_SEEN = 100_000


class FeedService:
    """``enqueue(kind, *, args, subject)`` is the jobs port; ``blobs`` keeps the ranked model;
    ``kv`` the ranked orders; ``store`` the readers' timelines and ``authors`` the pulled
    authors' (None: every read from the database)."""

    def __init__(
        self,
        db: Database,
        kv: KeyValue,
        blobs: BlobStore,
        enqueue: Callable[..., object],
        store: TimelineStore | None,
        authors: TimelineStore | None = None,
        *,
        push_max_followers: int | None,
        active_days: float,
        batch: int,
        ranked_candidates: int,
        ranked_ttl: float,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.enqueue = enqueue
        self.store = store
        self.authors = authors
        self.active = timedelta(days=active_days)
        self.batch = batch
        self.items = ItemIndex(db, push_max_followers=push_max_followers)
        self.following = FollowingFeed(db, self.items, store, authors)
        self.ranked = RankedFeed(
            db, self.following, kv, self.model, candidates=ranked_candidates, ttl=ranked_ttl
        )
        #: ``audience`` → an SQL condition over ``videos``: those the audience may watch.
        self.screens: list[Callable[[Any], sa.ColumnElement[bool]]] = []
        self._seen: dict[str, float] = {}
        self._model: tuple[float, Model] = (0.0, Model.untrained())
        self._lock = threading.Lock()

    def on_screen(self, screen: Callable[[Any], sa.ColumnElement[bool]]) -> None:
        """Register a domain that keeps some videos from some audiences (country, age)."""
        self.screens.append(screen)

    # -- what the hub tells -----------------------------------------------------------------

    def post_created(self, event: PostCreated) -> None:
        item = self.items.add_post(
            event.post_id,
            event.author_id,
            repost_of=event.repost_of,
            reply_to_author_id=event.reply_to_author_id,
        )
        self._spread(item, event.post_id)

    def video_published(self, event: VideoPublished) -> None:
        with self.db.session() as session:
            video = session.get(Video, event.video_id)
            if video is None:
                return
            published_at = video.published_at or utcnow()
        self._spread(self.items.add_video(event.video_id, event.owner_id, published_at), event.video_id)

    def _spread(self, item: FeedItem | None, subject: str) -> None:
        if item is None:
            return
        if not item.pushed:
            self.items.forget_pulled()
            if self.authors is not None:  # one write, whatever the followers (if read lately)
                self.authors.merge(item.author_id, [(item.subject_seq, item.seq)])
        elif self.store is not None and self.items.has_followers(item.author_id):
            self.enqueue("feed.fanout", args={"seq": item.seq}, subject=subject)

    def user_followed(self, event: UserFollowed) -> None:
        """The new followee's recent items join the follower's timeline (if they have one)."""
        self.items.forget_followees(event.follower_id)
        if self.store is None or event.followee_id in self.items.pulled_authors():
            return
        with self.db.session() as session:
            recent = self.items.recent_of(session, event.followee_id, self.store.length)
        self.store.merge(event.follower_id, recent)

    def user_blocked(self, event: UserBlocked) -> None:
        """Each of the pair stops seeing the other: their timelines are rebuilt on next read."""
        if self.store is not None:
            self.store.drop(event.blocker_id)
            self.store.drop(event.blocked_id)

    # -- jobs -------------------------------------------------------------------------------

    def fanout(self, seq: int) -> dict[str, Any]:
        """Push item ``seq`` into the timelines of its author's active followers; how many
        followers were active and how many timelines were written (those that exist)."""
        item = self.items.get(seq)
        if item is None or not item.pushed or self.store is None:
            return {"followers": 0, "written": 0}
        started = time.monotonic()
        query = (
            sa.select(Follow.follower_id)
            .join(FeedReader, FeedReader.user_id == Follow.follower_id)
            .where(Follow.followee_id == item.author_id, FeedReader.last_read_at >= utcnow() - self.active)
        )
        if item.reply_to_author_id is not None:
            also = sa.orm.aliased(Follow)
            query = query.where(
                Follow.follower_id.in_(
                    sa.select(also.follower_id).where(also.followee_id == item.reply_to_author_id)
                )
            )
        followers = written = 0
        with self.db.session() as session:
            result = session.execute(query.execution_options(yield_per=self.batch))
            for part in result.partitions(self.batch):
                users = [row[0] for row in part]
                followers += len(users)
                written += self.store.push(users, (item.subject_seq, item.seq))
        FANOUT_WRITES.inc(written)
        FANOUT_LAG.observe((utcnow() - item.created_at).total_seconds())
        return {"followers": followers, "written": written, "seconds": round(time.monotonic() - started, 3)}

    def train(self) -> dict[str, Any]:
        """Fit the ranked feed's model on the last 30 days of interactions and keep it in the
        blob store; with fewer than ``MIN_SAMPLES`` interactions the model in place stays."""
        data = training_set(self.db, utcnow())
        if len(data.y) < 2 * MIN_SAMPLES:
            return {"trained": False, "samples": int(len(data.y))}
        model = fit(data.x, data.y, held_out=data.held_out)
        self.blobs.put(MODEL_KEY, model.to_json(), content_type="application/json")
        with self._lock:
            self._model = (time.monotonic(), model)
        return {"trained": True, "samples": model.samples, "auc": model.auc, "auc_recency": model.auc_recency}

    def model(self) -> Model:
        """The ranked feed's model as last trained (re-read every ``MODEL_TTL`` s)."""
        with self._lock:
            read_at, model = self._model
            if time.monotonic() - read_at < MODEL_TTL:
                return model
            try:
                model = Model.from_json(self.blobs.read(MODEL_KEY))
            except BlobNotFound:
                model = Model.untrained()
            except (ValueError, TypeError):
                log.exception("the feed model in the blob store is unreadable; ranking without it")
                model = Model.untrained()
            self._model = (time.monotonic(), model)
            return model

    # -- reads ------------------------------------------------------------------------------

    def read(
        self, user_id: str, algorithm: Algorithm, page: PageParams, *, audience: Any = None
    ) -> tuple[list[FeedEntry], str | None]:
        """One page of the user's home feed and the next page's cursor (None on the last);
        its videos only those every screen lets ``audience`` watch (None: no screen)."""
        self.seen(user_id)
        watchable = sa.and_(sa.true(), *(screen(audience) for screen in self.screens if audience is not None))
        READS.labels(algorithm).inc()
        with self.db.session() as session:
            if self.db.engine.dialect.name == "postgresql":
                # a page reads; each of its few statements is whole by itself (the check and the
                # wire form are one), so no BEGIN and COMMIT round trips around them
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            if algorithm == "following":
                before = _positive(decode_cursor(page.cursor, "following", 1)[0]) if page.cursor else None
                shown, after = self.following.page(session, user_id, before, page.limit, watchable=watchable)
                cursor = encode_cursor("following", [after]) if after is not None else None
            else:
                token, offset = None, 0
                if page.cursor:
                    token, offset = decode_cursor(page.cursor, "ranked", 2)
                    if not isinstance(token, str) or len(token) > 32 or _positive(offset + 1) > MAX_OFFSET:
                        raise InvalidCursor(
                            "This cursor is not one this list gave out; start again without it."
                        )
                shown, token, following = self.ranked.page(
                    session, user_id, token, offset, page.limit, watchable=watchable
                )
                cursor = encode_cursor("ranked", [token, following]) if following is not None else None
            return entries(session, shown, Viewer(user_id)), cursor

    def seen(self, user_id: str) -> None:
        """Record that the user reads their feed (at most once an hour per process)."""
        now = time.monotonic()
        if now - self._seen.get(user_id, -SEEN_EVERY) < SEEN_EVERY:
            return
        if len(self._seen) >= MAX_SEEN:
            self._seen.clear()
        self._seen[user_id] = now
        at = utcnow()
        with self.db.session() as session:
            stmt = upsert(session, FeedReader).values(user_id=user_id, last_read_at=at)
            session.execute(stmt.on_conflict_do_update(index_elements=["user_id"], set_={"last_read_at": at}))


def _positive(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidCursor("This cursor is not one this list gave out; start again without it.")
    return value
