"""The home feed: hybrid push/pull timelines, ranked or newest first.

``FeedService`` records posts and public videos as they appear (the events hub), fans them out
to the timelines of active followers (the ``feed.fanout`` job), and reads a user's feed
(``following`` or ``ranked``). Timelines live in Redis, or in this process on the embedded
default (``stores``); the database (``feed_items``) is the truth they cache. See docs/feed.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.core.kv import KeyValue
from control_plane.core.settings import Settings
from control_plane.feed.model import MODEL_KEY, Model
from control_plane.feed.service import SEEN_EVERY, Algorithm, FeedService
from control_plane.feed.stores import AUTHORS, RedisTimelines, TimelineStore, open_timelines
from control_plane.social.events import PostCreated, UserBlocked, UserFollowed
from control_plane.videos.events import VideoPublished
from storage import BlobStore

__all__ = ["MODEL_KEY", "Algorithm", "FeedService", "Model", "TimelineStore", "build_feed", "subscribe_feed"]

DAY = 86400.0
log = logging.getLogger(__name__)


def build_feed(
    settings: Settings, db: Database, kv: KeyValue, blobs: BlobStore, enqueue: Callable[..., object]
) -> FeedService:
    """The feed over the settings' timelines: in Redis when ``kv`` is (``redis_url``), in this
    process on the embedded default, none (the database alone) with workers elsewhere and no Redis.

    Timelines lapse two activity writes before a reader stops counting as active, so a fan-out
    never skips a reader whose timeline is still there.
    """
    ttl = settings.feed_active_days * DAY - 2 * SEEN_EVERY
    shared = settings.in_process_broker
    store = open_timelines(kv, shared_process=shared, length=settings.feed_timeline_length, ttl=ttl)
    authors = open_timelines(
        kv, shared_process=shared, length=settings.feed_timeline_length, ttl=ttl, prefix=AUTHORS
    )
    if isinstance(store, RedisTimelines) and store.compact_encoding() is False:
        log.warning(
            "Redis keeps sorted sets of %d entries as skiplists (about 105 bytes an entry); set "
            "zset-max-listpack-entries to 1024 for about 13 (docs/feed.md)",
            settings.feed_timeline_length,
        )
    return FeedService(
        db,
        kv,
        blobs,
        enqueue,
        store,
        authors,
        push_max_followers=settings.feed_push_max_followers,
        active_days=settings.feed_active_days,
        batch=settings.feed_fanout_batch,
        ranked_candidates=settings.feed_ranked_candidates,
        ranked_ttl=settings.feed_ranked_ttl,
    )


def subscribe_feed(events: EventHub, feed: FeedService) -> None:
    """What the feed hears: posts and videos to spread, follows and blocks to reflect."""
    events.subscribe(PostCreated, feed.post_created)
    events.subscribe(VideoPublished, feed.video_published)
    events.subscribe(UserFollowed, feed.user_followed)
    events.subscribe(UserBlocked, feed.user_blocked)
