"""The process's backends, built once from the settings and handed to the app and the workers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import dramatiq

from control_plane.accounts import AccountService, TokenCodec
from control_plane.accounts.twofactor import TwoFactor
from control_plane.channels.closing import AccountCloser
from control_plane.channels.service import ChannelService
from control_plane.contentid import ClaimService, claim_hold
from control_plane.core.db import Database
from control_plane.core.events import EventHub
from control_plane.core.kv import KeyValue, open_kv
from control_plane.core.pubsub import PubSub, open_pubsub
from control_plane.core.ratelimit import RateLimiter
from control_plane.core.settings import Settings
from control_plane.feed import FeedService, build_feed, subscribe_feed
from control_plane.jobs import JobQueue
from control_plane.live.service import StreamService
from control_plane.search import SearchService, open_backend
from control_plane.social import Social, build_social
from control_plane.social.events import PostCreated, PostDeleted
from control_plane.uploads.service import UploadService
from control_plane.videos import JobLedger, VideoService
from control_plane.videos.catalogue import Catalogue
from control_plane.videos.playback import PlaybackTokens
from storage import BlobStore, open_store
from storage.uploads import upload_store_for

__all__ = ["Services", "build_services", "search_service", "video_service"]

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    store: BlobStore
    broker: dramatiq.Broker
    #: The jobs port over ``db`` and ``broker``: where the plane enqueues.
    jobs: JobQueue
    kv: KeyValue
    accounts: AccountService
    videos: VideoService
    uploads: UploadService
    claims: ClaimService
    limiter: RateLimiter
    pubsub: PubSub
    playback: PlaybackTokens
    channels: ChannelService
    catalogue: Catalogue
    #: Closes accounts; each domain that keeps something of a user registers its part (``on_close``).
    closer: AccountCloser
    #: Where domains announce committed changes and the plane's subscribers listen.
    events: EventHub
    social: Social
    search: SearchService
    #: The home feed, subscribed to the posts, videos and follows it spreads.
    feed: FeedService

    def close(self) -> None:
        self.pubsub.close()
        self.kv.close()
        self.db.dispose()
        try:
            self.broker.close()
        except Exception:  # a broker already gone cannot be closed twice; nothing to keep
            log.debug("broker close failed", exc_info=True)


def video_service(
    db: Database,
    enqueue: Callable[..., object],
    store: BlobStore,
    jobs: JobLedger | None = None,
    events: EventHub | None = None,
) -> VideoService:
    """The video domain with the holds other domains put on a video: a blocking Content-ID claim.

    Removing videos is the API's: ``build_services`` registers the other domains' removers. ``jobs``
    lets it retry (the API's processes hand it their job queue); ``events`` hears videos published.
    """
    return VideoService(db, enqueue, store, holds=(claim_hold,), jobs=jobs, events=events)


def search_service(db: Database, events: EventHub) -> SearchService:
    """Search over this database's index, fed with posts as they are made and deleted."""
    search = SearchService(db, open_backend(db))
    events.subscribe(PostCreated, search.post_created)
    events.subscribe(PostDeleted, search.post_deleted)
    return search


def build_services(settings: Settings, *, broker: dramatiq.Broker) -> Services:
    """Open the database, blob store and key-value store that the settings name, around ``broker``.

    ``broker`` is the Dramatiq broker the entry point made (``workers.broker.make_broker``), with
    every job type declared on it; the services own it from here (``close`` closes it). Nothing is
    contacted here beyond what the client libraries do lazily; readiness is checked by ``/readyz``
    and by the CLI's start-up checks.
    """
    db = Database(settings.effective_database_url)
    store = open_store(settings.effective_storage_url, secret=settings.secret_bytes)
    previous = tuple(secret.encode() for secret in settings.previous_secret_keys)
    codec = TokenCodec(
        settings.secret_bytes,
        issuer=settings.effective_public_url,
        ttl=settings.access_token_ttl,
        previous=previous,
    )
    kv = open_kv(settings.redis_url)
    jobs = JobQueue(db, broker, lost_after=settings.worker_heartbeat_timeout)
    events = EventHub()

    videos = video_service(db, jobs.enqueue, store, jobs, events)
    accounts = AccountService(
        db, codec, refresh_ttl=settings.refresh_token_ttl, twofactor=TwoFactor(settings.secret_bytes)
    )
    uploads = UploadService(db, upload_store_for(store), kv, settings, videos)
    claims = ClaimService(db, jobs.enqueue, videos)
    videos.on_remove(uploads.video_removed)
    videos.on_remove(claims.video_removed)
    channels = ChannelService(db, store, jobs.enqueue)
    closer = AccountCloser(db, accounts, store, jobs.enqueue)
    for remover in (
        StreamService(db).remove_rows_of_owner,  # first: a live stream refuses before anything goes
        videos.remove_rows_of_owner,
        uploads.remove_rows_of_owner,
        channels.remove_rows_of_owner,
    ):
        closer.on_close(remover)
    limiter = RateLimiter(kv)
    feed = build_feed(settings, db, kv, store, jobs.enqueue)
    subscribe_feed(events, feed)
    return Services(
        settings=settings,
        db=db,
        store=store,
        broker=broker,
        jobs=jobs,
        kv=kv,
        accounts=accounts,
        videos=videos,
        uploads=uploads,
        claims=claims,
        limiter=limiter,
        pubsub=open_pubsub(settings.redis_url),
        playback=PlaybackTokens(settings.secret_bytes, previous, max_ttl=settings.playback_token_max_ttl),
        channels=channels,
        catalogue=Catalogue(db),
        closer=closer,
        events=events,
        social=build_social(db, events, limiter, settings),
        search=search_service(db, events),
        feed=feed,
    )
